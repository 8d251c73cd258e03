"""The quality watch through the real sources and store: unusual outputs read from the DQM GUI or the
CondDB and flagged; a gate holds the run for an expert; scores stored once and read back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from simulator.quality import QualitySeason
from simulator.scenario import Outcome, SimRun, all_streams
from spyagency.core.models import AckKind, RunState, WorkflowState
from spyagency.core.quality import QualityStatus
from spyagency.passes import observe as polling
from spyagency.people.acknowledge import acknowledge
from spyagency.policy import Policy, load_policy
from spyagency.sources.dqm import read_quality
from spyagency.store import quality as quality_store

from ..conftest import START, make_world
from ..support.watches import policy_in_mode, watch_of

H = timedelta(hours=1)


def _season_runs(policy: Policy, count: int, anomaly_at: int | None) -> list[SimRun]:
    runs = []
    for i in range(count):
        start = START - (count - i) * 2 * H - 20 * H
        anomaly = ("SiPixelAli", "BPIX(x+)", 9.0) if i == anomaly_at else None
        runs.append(SimRun(387000 + i, start, start + H, all_streams(policy), quality_anomaly=anomaly))
    return runs


@pytest.mark.usefixtures("quality_reads_unbounded")
@pytest.mark.parametrize("mode", ["advisory", "gate"])
def test_a_bad_alignment_output_from_the_dqm_gui_is_flagged_and_a_gate_waits_for_an_expert(tmp_path, mode):
    policy = policy_in_mode(mode)
    runs = _season_runs(policy, 14, anomaly_at=13)
    world = make_world(tmp_path, policy, runs)
    try:
        verdicts = world.at(timedelta(0))
        bad = next(w for w in verdicts[387013].workflows if w.workflow == "SiPixelAli")
        good = next(w for w in verdicts[387012].workflows if w.workflow == "SiPixelAli")
        assert "quality UNUSUAL (BPIX(x+)" in bad.reason
        assert "quality normal" in good.reason and good.state is WorkflowState.UPLOADED
        gains = next(w for w in verdicts[387013].workflows if w.workflow == "SiStripGains")
        assert "quality normal" in gains.reason
        if mode == "advisory":
            assert bad.state is WorkflowState.UPLOADED and verdicts[387013].state is RunState.READY
            return
        assert bad.state is WorkflowState.NEEDS_REVIEW and not bad.done
        assert verdicts[387013].state is RunState.NOT_READY and not verdicts[387013].release
        acknowledge(world.store, policy, run=387013, workflow="SiPixelAli", kind=AckKind.ACCEPT, author="alca",
                    comment="movement understood", now=world.clock.now())
        assert world.at(timedelta(minutes=5))[387013].state is RunState.READY
    finally:
        world.agency.close()
        world.sim.stop()
        world.store.dispose()


@pytest.mark.usefixtures("quality_reads_unbounded")
def test_an_unreadable_monitor_element_keeps_a_gated_run_back(tmp_path):
    policy = policy_in_mode("gate")
    runs = _season_runs(policy, 12, anomaly_at=None)
    world = make_world(tmp_path, policy, runs)
    try:
        world.sim.world.dqm_run_faults.add(387011)  # the DQM GUI fails for this run only
        verdicts = world.at(timedelta(0))
        last = next(w for w in verdicts[387011].workflows if w.workflow == "SiPixelAli")
        assert last.state in (WorkflowState.NEEDS_REVIEW, WorkflowState.UNKNOWN) and not last.done
        assert not verdicts[387011].release
        assert verdicts[387010].release  # the fault stays in its run
    finally:
        world.agency.close()
        world.sim.stop()
        world.store.dispose()


@pytest.mark.usefixtures("quality_reads_unbounded")
def test_the_new_dqm_gui_api_gives_the_same_numbers_and_verdicts(tmp_path):
    """A DQM GUI of the new generation (/api/v1/json, TBufferJSON objects) is read like the legacy one."""
    policy = policy_in_mode("advisory")
    runs = _season_runs(policy, 14, anomaly_at=13)
    runs[5] = SimRun(runs[5].run, runs[5].start, runs[5].stop, all_streams(policy), {"SiPixelAli": Outcome.VETOED})
    runs[12] = SimRun(runs[12].run, runs[12].start, runs[12].stop, all_streams(policy),
                      quality_anomaly=("SiPixelAliHGComb", "BPIX layer 3", 9.0))
    legacy = make_world(tmp_path / "legacy", policy, runs)
    new = make_world(tmp_path / "new", policy, runs, dqm_api="v1")
    try:
        assert new.agency.dqm.api == "v1" and new.sim.dqm_url == new.agency.settings.dqm_url
        seen = {}
        for name, world in (("legacy", legacy), ("new", new)):
            verdicts = world.at(timedelta(0))
            seen[name] = {run: [(w.workflow, w.state, w.reason) for w in verdict.workflows]
                          for run, verdict in verdicts.items()}
        assert seen["new"] == seen["legacy"]
        reasons = dict((w, r) for w, _s, r in seen["new"][387013])
        assert "quality UNUSUAL (BPIX(x+)" in reasons["SiPixelAli"]
        assert "quality normal" in reasons["SiPixelLorentzAngle"] and "quality normal" in reasons["EcalPedestals"]
        assert "vetoed" in dict((w, r) for w, _s, r in seen["new"][387005])["SiPixelAli"]
        assert "quality normal" in reasons["SiPixelAliHGComb"]  # per-ladder histograms, read through both APIs
        high_granularity = dict((w, r) for w, _s, r in seen["new"][387012])["SiPixelAliHGComb"]
        assert "quality UNUSUAL (BPIX layer 3" in high_granularity and "BPIX layer 3 ladders" in high_granularity
    finally:
        for world in (legacy, new):
            world.agency.close()
            world.sim.stop()
            world.store.dispose()


@pytest.mark.parametrize("mode", ["advisory", "gate"])
def test_a_bad_strip_list_far_longer_than_usual_is_flagged_from_the_upload_itself(tmp_path, mode):
    """Where no DQM summary describes an output, the size of the run's own payload in the CondDB does."""
    policy = policy_in_mode(mode)
    runs = _season_runs(policy, 14, anomaly_at=None)
    runs[13].quality_anomaly = ("SiStripBadChannel", "bad strips", 20.0)  # half again as many bad-strip ranges
    world = make_world(tmp_path, policy, runs)
    try:
        verdicts = world.at(timedelta(0))
        bad = next(w for w in verdicts[387013].workflows if w.workflow == "SiStripBadChannel")
        assert "quality UNUSUAL (bad strips" in bad.reason and "size of the bad-strip list at" in bad.reason
        assert " bytes, " in bad.reason and "σ above the median" in bad.reason
        for run, workflow in ((387012, "SiStripBadChannel"), (387013, "SiPixelQuality"), (387013, "PPSTimingCalib")):
            other = next(w for w in verdicts[run].workflows if w.workflow == workflow)
            assert "quality normal" in other.reason, (run, workflow, other.reason)
        if mode == "advisory":
            assert bad.state is WorkflowState.UPLOADED and verdicts[387013].state is RunState.READY
        else:
            assert bad.state is WorkflowState.NEEDS_REVIEW and not verdicts[387013].release
    finally:
        world.agency.close()
        world.sim.stop()
        world.store.dispose()


def test_a_monitor_element_with_several_watched_numbers_is_asked_for_once():
    asked: list[str] = []

    class Gui:
        def monitor_element(self, run: int, dataset: str, name: str) -> dict[str, object]:
            asked.append(name)
            return {"type": "TH1F", "stats": {"mean": {"X": {"value": 0.4}}, "rms": {"X": {"value": 2.5}}},
                    "bins": {"content": [1.0, 3.0]}}

    watch = watch_of(load_policy(), "SiPixelLorentzAngle")  # mean and RMS of h_diffLA
    values = read_quality(Gui(), 387000, "Run2026D", watch)  # type: ignore[arg-type]
    assert values == {"mean relative change of μH": 0.4, "spread of the relative change of μH": 2.5}
    assert asked == ["AlCaReco/SiPixelLorentzAngleHarvesting/h_diffLA"]
    asked.clear()
    assert read_quality(Gui(), 387000, "Run2026D", watch_of(load_policy(), "SiPixelAliHGComb"))  # type: ignore[arg-type]
    assert len(asked) == len(set(asked)) == 60  # six movements of ten structures; mean and spread share each


def test_a_backlog_of_quality_reads_is_spread_over_polls_oldest_run_first(tmp_path, monkeypatch):
    """One poll reads a bounded number of monitor elements, so it stays short; the rest follow."""
    monkeypatch.setattr(polling, "QUALITY_ELEMENTS_PER_POLL", 40)
    policy = policy_in_mode("advisory")
    world = make_world(tmp_path, policy, _season_runs(policy, 6, anomaly_at=None))
    try:
        world.at(timedelta(0))
        with world.store.session() as session:
            first = quality_store.read_pairs(session, list(range(387000, 387006)))
        dqm_watched = [wf.name for wf in policy.workflows if wf.quality and not wf.quality.reads_uploads]
        read_runs = sorted({run for run, wf in first if wf in dqm_watched})
        assert read_runs and read_runs == list(range(387000, 387000 + len(read_runs)))  # oldest first
        assert len([pair for pair in first if pair[1] in dqm_watched]) < 6 * len(dqm_watched)
        for minutes in range(1, 30):
            world.at(timedelta(minutes=minutes))
        with world.store.session() as session:
            later = quality_store.read_pairs(session, list(range(387000, 387006)))
        assert {(run, wf) for run in range(387000, 387006) for wf in dqm_watched} <= later
    finally:
        world.agency.close()
        world.sim.stop()
        world.store.dispose()


def test_a_score_is_computed_once_and_again_only_when_its_history_or_watch_changes(store_url, monkeypatch):
    """Decide reads stored scores: a fresh process scores nothing already scored under the same key; a new
    output is scored alone; a changed watch scores everything again."""
    from datetime import UTC, datetime

    from spyagency.passes import decide
    from spyagency.store import Store

    policy = load_policy()
    season = QualitySeason(policy, seed=7)
    store = Store(store_url)
    store.migrate()
    now = datetime(2026, 6, 1, tzinfo=UTC)
    runs = list(range(2000, 2015))
    with store.session() as session:
        for run in runs:
            quality_store.record_values(session, run, "SiPixelAli", season.values(run, "SiPixelAli"), now)
    scored: list[int] = []
    real_score = decide.score_run

    def counting(workflow, watch, values, history):  # type: ignore[no-untyped-def]
        scored.append(len(history))
        return real_score(workflow, watch, values, history)

    monkeypatch.setattr(decide, "score_run", counting)

    def scores(active: list[int], used: Policy = policy) -> dict[tuple[int, str], object]:
        monkeypatch.setattr(decide, "_decoded", decide._DecodedScores())  # as in a fresh process
        with store.session() as session:
            return dict(decide.quality_scores(session, used, active))

    first = scores(runs)
    assert len(scored) == len(runs)
    assert first[(2014, "SiPixelAli")].status is QualityStatus.NORMAL  # type: ignore[attr-defined]
    scored.clear()
    assert scores(runs) == first and scored == []  # read back, bit for bit, not scored again
    with store.session() as session:
        quality_store.record_values(session, 2015, "SiPixelAli", season.values(2015, "SiPixelAli"), now)
    scores([*runs, 2015])
    assert scored == [15]  # only the new output, against the 15 runs before it
    scored.clear()
    stricter = policy.model_copy(update={"workflows": tuple(
        wf.model_copy(update={"quality": watch_of(policy).model_copy(update={"threshold_sigma": 3.5})})
        if wf.name == "SiPixelAli" else wf for wf in policy.workflows)})
    scores([*runs, 2015], stricter)
    assert len(scored) == 16  # another watch: every output scored again
    store.dispose()
