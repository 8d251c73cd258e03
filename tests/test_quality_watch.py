"""The quality watch: unusual PCL outputs flagged from their DQM numbers, in words experts use;
a gate holds the run for an expert; a number that cannot be read never makes a run ready."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from simulator.quality import Anomaly, QualitySeason
from simulator.scenario import Outcome, SimRun, all_streams
from spyagency.core.models import AckKind, AttributedUpload, Attribution, RunState, Upload, WorkflowState
from spyagency.core.quality import QualityStatus, chi2_survival, normal_equivalent, score_run
from spyagency.core.upload_quality import current_iovs, upload_values
from spyagency.passes import observe as polling
from spyagency.people.acknowledge import acknowledge
from spyagency.policy import Policy, PolicyError, QualityWatch, load_policy, parse_policy
from spyagency.sources.dqm import feature_values, read_quality
from spyagency.sources.errors import DqmProtocolError
from spyagency.sources.jsroot import hist_from_jsroot
from spyagency.store import quality as quality_store

from .conftest import START, make_world

H = timedelta(hours=1)


def _policy(mode: str = "advisory") -> Policy:
    text = resources.files("spyagency.policy").joinpath("default.toml").read_text()
    return parse_policy(text.replace('mode = "advisory"', f'mode = "{mode}"'), f"default, {mode}")


def _watch(policy: Policy, workflow: str = "SiPixelAli"):  # type: ignore[no-untyped-def]
    watch = policy.workflow(workflow).quality
    assert watch is not None
    return watch


def test_an_unusual_alignment_is_flagged_and_named_in_the_experts_words():
    policy = load_policy()
    season = QualitySeason(policy, seed=3)
    history = [season.values(run, "SiPixelAli") for run in range(1000, 1040)]
    moved = season.values(1040, "SiPixelAli")
    moved["Δθx of BPIX(x+)"] += 8 * season.spread("SiPixelAli", "Δθx of BPIX(x+)")
    moved["ΔX of BPIX(x+)"] -= 6 * season.spread("SiPixelAli", "ΔX of BPIX(x+)")
    score = score_run("SiPixelAli", _watch(policy), moved, history)
    assert score.status is QualityStatus.UNUSUAL and score.group == "BPIX(x+)"
    assert score.drivers[0].name == "Δθx of BPIX(x+)" and score.drivers[0].z > 5  # 8 σ, judged on 40 runs
    assert "Δθx of BPIX(x+) at" in score.summary and "µrad" in score.summary and "above the median" in score.summary
    assert "of the last 40 runs" in score.summary
    normal = score_run("SiPixelAli", _watch(policy), season.values(1040, "SiPixelAli"), history)
    assert normal.status is QualityStatus.NORMAL and normal.summary.startswith("quality normal")


def test_a_slow_drift_is_followed_not_flagged():
    policy = load_policy()
    season = QualitySeason(policy, seed=5, drift_sigma=3.0, drift_runs=300)
    history: list[dict[str, float]] = []
    flagged = 0
    for run in range(2000, 2300):
        values = season.values(run, "SiStripGains")
        flagged += score_run("SiStripGains", _watch(policy, "SiStripGains"), values, history).status \
            is QualityStatus.UNUSUAL
        history.append(values)
    assert flagged <= 3  # ±3 σ of drift over 300 runs, 300 clean runs: (nearly) no flag


def test_missing_numbers_are_unknown_and_too_little_history_is_not_judged():
    policy = load_policy()
    season = QualitySeason(policy)
    history = [season.values(run, "SiPixelAli") for run in range(1, 30)]
    partial = season.values(30, "SiPixelAli")
    del partial["ΔZ of FPIX(x-,z+)"]
    unknown = score_run("SiPixelAli", _watch(policy), partial, history)
    assert unknown.status is QualityStatus.UNKNOWN and "ΔZ of FPIX(x-,z+)" in unknown.summary
    assert score_run("SiPixelAli", _watch(policy), None, history).status is QualityStatus.UNKNOWN
    few = score_run("SiPixelAli", _watch(policy), season.values(30, "SiPixelAli"), history[:4])
    assert few.status is QualityStatus.NOT_JUDGED and "only 4 earlier run(s)" in few.summary


def test_the_chance_probability_matches_known_chi2_quantiles():
    for x, df in ((3.841, 1), (5.991, 2), (12.592, 6), (15.507, 8)):
        assert chi2_survival(x, df) == pytest.approx(0.05, abs=2e-4)


@settings(max_examples=200, deadline=None)
@given(missing=st.integers(min_value=0, max_value=35), history=st.integers(min_value=0, max_value=30),
       shift=st.floats(min_value=0, max_value=20))
def test_a_gated_output_is_done_only_when_read_judged_and_normal(missing, history, shift):
    """Property: under a gate, a workflow is released only with every number read, enough history,
    and a normal score; anything else waits for an expert."""
    from spyagency.core.models import RunInfo, RunObservations, Source
    from spyagency.core.readiness import _judged

    policy = _policy("gate")
    wf = policy.workflow("SiPixelAli")
    season = QualitySeason(policy, seed=11)
    past = [season.values(run, "SiPixelAli") for run in range(history)]
    values = season.values(99, "SiPixelAli")
    values["Δθz of BPIX(x-)"] += shift * season.spread("SiPixelAli", "Δθz of BPIX(x-)")
    for name in list(values)[:missing]:
        del values[name]
    score = score_run("SiPixelAli", _watch(policy), values, past)
    observations = RunObservations(RunInfo(99, START, START), None, {}, {}, {}, quality={"SiPixelAli": score})
    state, reason, _source = _judged(wf, observations, WorkflowState.UPLOADED, "payload in", Source.CONDDB)
    event(f"quality {score.status.value}")
    if state is WorkflowState.UPLOADED:
        assert missing == 0 and history >= 10 and score.status is QualityStatus.NORMAL
    else:
        assert state is WorkflowState.NEEDS_REVIEW and reason.startswith("uploaded, needs review")


def test_the_client_reads_millepede_bins_and_histogram_means():
    watch = _watch(load_policy())
    xpos = {"type": "TH1F", "bins": {"content": [1.5, -2.0, 0.25, 4.0, -1.0, 0.5] + [0.0] * 30}}
    assert feature_values(xpos, watch.features[0]) == [1.5, -2.0, 0.25, 4.0, -1.0, 0.5]
    gains = _watch(load_policy(), "SiStripGains")
    mpv = {"type": "TH1D", "stats": {"mean": {"X": {"value": 301.2, "error": 0.1}}}, "bins": {"content": []}}
    assert feature_values(mpv, gains.features[0]) == [301.2]
    for junk in ({"bins": {"content": [1.0]}}, {"bins": {"content": ["x"] * 36}}, {"stats": {}}):
        with pytest.raises(DqmProtocolError):
            feature_values(junk, watch.features[0] if "bins" in junk else gains.features[0])


def test_the_client_reads_a_structures_mean_movement_and_its_spread_over_ladders():
    """MillePede's high-granularity histograms hold one movement per ladder (or panel): their mean and
    spread are the watched numbers."""
    watch = _watch(load_policy(), "SiPixelAliHGComb")
    mean_x, spread_x = watch.features[0], watch.features[1]
    assert mean_x.histogram == spread_x.histogram == "AlCaReco/SiPixelAliHGCombined/Xpos_HG_Layer1"
    ladders = {"type": "TH1F", "bins": {"content": [2.0, 4.0, 0.0, 6.0]}}
    assert feature_values(ladders, mean_x) == [3.0]
    assert feature_values(ladders, spread_x) == [pytest.approx(5 ** 0.5)]
    for junk in ({"bins": {"content": []}}, {"bins": {"content": [1.0, None]}}, {"bins": {}}):
        with pytest.raises(DqmProtocolError):
            feature_values(junk, mean_x)


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
    policy = _policy(mode)
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
    policy = _policy("gate")
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
    policy = _policy("advisory")
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


def _jsroot_th1(**overrides: object) -> dict[str, object]:
    obj: dict[str, object] = {
        "_typename": "TH1F", "fName": "h_diffLA", "fTitle": "difference in μH",
        "fXaxis": {"_typename": "TAxis", "fNbins": 3, "fLabels": None},
        "fTsumw": 4.0, "fTsumwx": 4.0, "fTsumwx2": 8.0, "fArray": [0.0, 1.0, 2.0, 1.0, 0.0]}
    return {**obj, **overrides}


def test_a_jsroot_histogram_reads_as_root_computes_it():
    hist = hist_from_jsroot(_jsroot_th1(), "h_diffLA")
    assert hist["bins"]["content"] == [1.0, 2.0, 1.0]
    assert hist["stats"]["mean"]["X"]["value"] == 1.0 and hist["stats"]["rms"]["X"]["value"] == 1.0
    la = _watch(load_policy(), "SiPixelLorentzAngle")
    assert [feature_values(hist, feature) for feature in la.features] == [[1.0], [1.0]]
    labelled = hist_from_jsroot(_jsroot_th1(fXaxis={"fNbins": 3, "fLabels": {"_typename": "THashList", "arr": [
        {"_typename": "TObjString", "fUniqueID": 2, "fString": "DB update vetoed"}]}}), "statusResults")
    assert [label["value"] for label in labelled["xaxis"]["labels"]] == ["", "DB update vetoed", ""]
    two_d = hist_from_jsroot(_jsroot_th1(_typename="TH2F", fYaxis={"fNbins": 1},
                                         fArray=[0.0] * 5 + [0.0, 1.0, 0.0, 1.0, 0.0] + [0.0] * 5), "statusResults")
    assert two_d["bins"]["content"] == [[1.0, 0.0, 1.0]]


@pytest.mark.parametrize("junk", [
    [], {"fName": "no type"}, _jsroot_th1(_typename="TGraph"), _jsroot_th1(fArray=[1.0, 2.0]),
    _jsroot_th1(fXaxis={"fNbins": 0}), _jsroot_th1(fTsumw="x"), _jsroot_th1(fArray=[0.0, "NaN", 1.0, 1.0, 0.0]),
    _jsroot_th1(fXaxis={"fNbins": 3, "fLabels": {"arr": [{"fUniqueID": 9, "fString": "x"}]}}),
    _jsroot_th1(fTsumwx=float("inf")), _jsroot_th1(_typename="TH2F", fYaxis=3),
])
def test_a_malformed_jsroot_object_is_a_protocol_error(junk):
    with pytest.raises(DqmProtocolError):
        hist_from_jsroot(junk, "h")


@given(t=st.floats(min_value=0.0, max_value=50.0), dof=st.integers(min_value=1, max_value=500))
def test_scores_from_short_histories_count_for_less(t, dof):
    """A t from few runs is never worth more than the same t from many, and never more than itself."""
    z = normal_equivalent(t, dof)
    assert 0.0 <= z <= t + 1e-9
    assert z <= normal_equivalent(t, dof + 1) + 1e-9
    assert normal_equivalent(-t, dof) == -z


def _false_and_true_flags(watch, season: QualitySeason, workflow: str, bad_run: int) -> tuple[int, bool]:  # type: ignore[no-untyped-def]
    history: list[dict[str, float]] = []
    false_flags, caught = 0, False
    for run in range(1000, 1600):
        values = season.values(run, workflow)
        unusual = score_run(workflow, watch, values, history).status is QualityStatus.UNUSUAL
        if run == bad_run:
            caught = unusual
            continue
        false_flags += unusual
        history.append(values)
    return false_flags, caught


def test_numbers_that_share_their_noise_cry_wolf_less_with_the_covariance_model():
    """Where the multivariate model helps: strip layers that move together by chance are not an anomaly."""
    policy = load_policy()
    anomaly = Anomaly(1500, "SiStripHitEff", "TOB efficiency", 8.0, 4)
    season = QualitySeason(policy, seed=5, anomalies={1500: anomaly}, correlation=0.6)
    independent = _watch(policy, "SiStripHitEff")
    covariance = independent.model_copy(update={"model": "covariance"})
    alarms, caught = _false_and_true_flags(independent, season, "SiStripHitEff", 1500)
    fewer, caught_too = _false_and_true_flags(covariance, season, "SiStripHitEff", 1500)
    assert caught and caught_too
    assert alarms >= 3 and fewer <= alarms // 3, (alarms, fewer)


def test_the_covariance_model_without_scikit_learn_is_refused_with_the_fix(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "sklearn" else real(name, *a))
    text = resources.files("spyagency.policy").joinpath("default.toml").read_text()
    with pytest.raises(PolicyError, match=r"spyagency\[ml\]"):
        parse_policy(text.replace('mode = "advisory"', 'mode = "advisory"\nmodel = "covariance"', 1), "test")


@pytest.mark.parametrize("mode", ["advisory", "gate"])
def test_a_bad_strip_list_far_longer_than_usual_is_flagged_from_the_upload_itself(tmp_path, mode):
    """Where no DQM summary describes an output, the size of the run's own payload in the CondDB does."""
    policy = _policy(mode)
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


def test_only_the_runs_own_newest_iovs_are_measured():
    """An IOV the upload service moved onto this run may be an earlier run's late payload: it is not this
    run's output. Of two uploads at one since (an expert's re-upload), prompt reco reads the newer."""
    at = START

    def iov(since: int, digest: str, minutes: int, whose: Attribution = Attribution.OWN) -> AttributedUpload:
        return AttributedUpload(Upload("T", since, 387000, digest, at + timedelta(minutes=minutes)), whose, "")

    own = [iov(387000, "old", 0), iov(387000, "new", 30), iov(387001, "late", 5, Attribution.LANDED)]
    assert [u.payload_hash for u in current_iovs(own)] == ["new"]
    watch = _watch(load_policy(), "SiStripBadChannel")
    assert upload_values(watch, current_iovs(own), {"new": 4096, "old": 10}) == {"size of the bad-strip list": 4096}
    assert upload_values(watch, current_iovs(own), {"old": 10}) is None  # a size not read is unknown
    assert upload_values(watch, [], {}) is None


@pytest.mark.parametrize("change, error", [
    ({"uploads": [{"label": "size"}]}, "exactly one"),
    ({"features": []}, "exactly one"),
    ({"dataset": None}, "give dataset"),
])
def test_a_quality_watch_reads_one_source_and_says_so(change, error):
    watch = _watch(load_policy(), "SiStripGains").model_dump()
    watch.update(change)
    with pytest.raises(ValueError, match=error):
        QualityWatch.model_validate({k: v for k, v in watch.items() if v is not None})


def test_a_monitor_element_with_several_watched_numbers_is_asked_for_once():
    asked: list[str] = []

    class Gui:
        def monitor_element(self, run: int, dataset: str, name: str) -> dict[str, object]:
            asked.append(name)
            return {"type": "TH1F", "stats": {"mean": {"X": {"value": 0.4}}, "rms": {"X": {"value": 2.5}}},
                    "bins": {"content": [1.0, 3.0]}}

    watch = _watch(load_policy(), "SiPixelLorentzAngle")  # mean and RMS of h_diffLA
    values = read_quality(Gui(), 387000, "Run2026D", watch)  # type: ignore[arg-type]
    assert values == {"mean relative change of μH": 0.4, "spread of the relative change of μH": 2.5}
    assert asked == ["AlCaReco/SiPixelLorentzAngleHarvesting/h_diffLA"]
    asked.clear()
    assert read_quality(Gui(), 387000, "Run2026D", _watch(load_policy(), "SiPixelAliHGComb"))  # type: ignore[arg-type]
    assert len(asked) == len(set(asked)) == 60  # six movements of ten structures; mean and spread share each


def test_a_backlog_of_quality_reads_is_spread_over_polls_oldest_run_first(tmp_path, monkeypatch):
    """One poll reads a bounded number of monitor elements, so it stays short; the rest follow."""
    monkeypatch.setattr(polling, "QUALITY_ELEMENTS_PER_POLL", 40)
    policy = _policy("advisory")
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
        wf.model_copy(update={"quality": _watch(policy).model_copy(update={"threshold_sigma": 3.5})})
        if wf.name == "SiPixelAli" else wf for wf in policy.workflows)})
    scores([*runs, 2015], stricter)
    assert len(scored) == 16  # another watch: every output scored again
    store.dispose()
