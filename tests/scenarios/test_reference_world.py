"""SpyAgency against a world written from the reference facts alone (``tests/support/reference_world.py``).

Late, missing and ambiguous payloads, a per-run Tier0 fault, a switch shared with people and
steering across several locks: each case is what the real systems would show, and SpyAgency
must give the right answer without any fact only our simulator provides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from spyagency.agency import Agency
from spyagency.clock import ManualClock
from spyagency.core.models import AckKind, RunState, RunVerdict, WorkflowState
from spyagency.passes import steer as steering
from spyagency.people.acknowledge import acknowledge
from spyagency.people.overrides import OverrideKind, record_override
from spyagency.policy import Policy
from spyagency.settings import Settings
from spyagency.store import Store

from ..support.production import COSMICS, PCL_TABLE
from ..support.reference_world import Calibration, ReferenceWorld

H = timedelta(hours=1)
T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)

PCL = PCL_TABLE  # (stream, producer, destination tag, time type); synchronization per test
COSMICS_SKIMS = COSMICS
BAD_CHANNEL = "SiStripBadChannel_PCL_v1_prompt"
SKIMS = {
    "Express": ("SiStripPCLHistos,SiStripCalZeroBias,TkAlMinBias,PromptCalibProd,PromptCalibProdSiStrip,"
                "PromptCalibProdSiPixelAli,PromptCalibProdSiStripGains,PromptCalibProdSiStripGainsAAG,"
                "PromptCalibProdSiPixel,PromptCalibProdSiPixelLA,PromptCalibProdSiStripHitEff,"
                "PromptCalibProdSiPixelAliHG,PromptCalibProdSiPixelAliHGComb"),
    "ExpressAlignment": "TkAlMinBias,PromptCalibProdBeamSpotHP",
    "ALCALumiPixelsCountsExpress": "AlCaPCCRandom,PromptCalibProdLumiPCC",
    "ALCAPPSExpress": "PPSCalMaxTracks,PromptCalibProdPPSTimingCalib,PromptCalibProdPPSAlignment",
    "Calibration": "PromptCalibProdEcalPedestals",
    "HLTMonitor": "PromptCalibProdSiPixelAliHLTHGC",
}
GAINS = "SiStripApvGain_PCL_v0_prompt"  # run-based, synchronized prompt in these tests
ECAL = "EcalPedestals_PCL_v0_prompt"  # run-based, synchronized pcl in these tests
PROMPT_TAGS = {GAINS, "BeamSpotObjects_PCL_byLumi_v0_prompt"}


@dataclass
class Harness:
    """A reference world, SpyAgency steering it by SQL, a manual clock and a queue of events."""

    world: ReferenceWorld
    agency: Agency
    clock: ManualClock
    events: list[tuple[datetime, Callable[[], None]]] = field(default_factory=list)
    locked_unready: list[int] = field(default_factory=list)
    #: the world's truth: when each (run, tag) upload landed on its own run (not moved up to a later one)
    landed: dict[tuple[int, str], datetime] = field(default_factory=dict)
    #: runs a person let go unready (an override, a hand on the switch): their locks are the person's call
    excused: set[int] = field(default_factory=set)

    def upload(self, number: int, tag: str) -> None:
        """The world's upload of ``tag`` for run ``number``, its landing noted when it lands on the run itself."""
        own = number >= self.world.fcsr()
        if self.world.upload(number, tag) and own:
            self.landed[(number, tag)] = self.world.now

    def at(self, moment: datetime, action: Callable[[], None]) -> None:
        self.events.append((moment, action))

    def run_life(self, number: int, start: datetime, hours: float, skip: frozenset[str] = frozenset(),
                 tier0_knows: bool = True) -> None:
        """A run that starts, stops, gets its express done 3 h later and its PCL uploads 1 h after that."""
        stop = start + hours * H
        self.at(start, lambda: self.world.start_run(number, dict(SKIMS), tier0_knows))
        self.at(stop, lambda: self.world.stop_run(number))
        self.at(stop + 3 * H, lambda: self.world.express_done(number))
        for _stream, producer, tag, _kind in PCL:
            if tag not in skip and producer in ",".join(s or "" for s in SKIMS.values()).split(","):
                self.at(stop + 4 * H, lambda tag=tag: self.upload(number, tag))

    def cosmics_life(self, number: int, start: datetime, hours: float, skip: frozenset[str] = frozenset()) -> None:
        """A cosmics run: its only express stream is ExpressCosmics, with its three PCL producers."""
        stop = start + hours * H
        self.at(start, lambda: self.world.start_run(number, dict(COSMICS_SKIMS)))
        self.at(stop, lambda: self.world.stop_run(number))
        self.at(stop + 3 * H, lambda: self.world.express_done(number))
        producers = COSMICS_SKIMS["ExpressCosmics"].split(",")
        for _stream, producer, tag, _kind in PCL:
            if tag not in skip and producer in producers:
                self.at(stop + 4 * H, lambda tag=tag: self.upload(number, tag))

    def step_to(self, end: datetime, every: timedelta = H, spyagency: bool = True) -> None:
        """Advance in steps; at each, apply due events, let Tier0 act, then SpyAgency observe, decide, steer."""
        now = self.clock.now()
        while now < end:
            now = min(now + every, end)
            for due, action in sorted((e for e in self.events if e[0] <= now), key=lambda e: e[0]):
                self.world.advance(due)
                action()
            self.events = [e for e in self.events if e[0] > now]
            before = {n: r.locked_at for n, r in self.world.runs.items()}
            self.world.advance(now)
            self._note_locks(before)
            self.clock.current = now
            if spyagency:
                self.agency.observe_and_decide()
                self.agency.steer()

    def _note_locks(self, before: dict[int, datetime | None]) -> None:
        """Runs Tier0 locked that were not ready in the world's truth: judged from what landed and what people
        said, never from SpyAgency's own verdict (which is what is on trial)."""
        for number, run in self.world.runs.items():
            if before.get(number) is None and run.locked_at is not None and not self._ready_in_truth(run):
                self.locked_unready.append(number)

    def _ready_in_truth(self, run) -> bool:  # type: ignore[no-untyped-def]
        from spyagency.store.people import acknowledgements

        producers = {p for skim in run.streams.values() for p in (skim or "").split(",")}
        with self.agency.store.session() as session:
            acked = {ack.workflow for ack in acknowledgements(session, run.number)
                     if ack.kind != AckKind.HOLD.value and ack.created_at <= run.locked_at}
        for wf in self.agency.policy.workflows:
            if not wf.required or wf.on_give_up != "block" or wf.producer not in producers:
                continue
            arrived = self.landed.get((run.number, wf.tag))
            if not ((arrived is not None and arrived <= run.locked_at) or wf.name in acked):
                return False
        return True

    def override(self, run: int, when: datetime) -> None:
        """An operator lets Tier0 release ``run`` whatever its state (so that it locks unready)."""
        self.excused.add(run)
        self.at(when, lambda: record_override(self.agency.store, run=run, kind=OverrideKind.RESUME,
                                              author="t0-shifter", comment="release it anyway",
                                              now=self.clock.now()))

    def verdicts(self) -> dict[int, RunVerdict]:
        result = self.agency.decide()
        assert result is not None
        return {v.run: v for v in result.verdicts}

    def workflow(self, run: int, tag: str):
        name = next(wf.name for wf in self.agency.policy.workflows if wf.tag == tag)
        return next(w for w in self.verdicts()[run].workflows if w.workflow == name)


@pytest.fixture
def harness_factory(tmp_path: Path, policy: Policy) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(store_url: str | None = None, prompt_tags: frozenset[str] = frozenset(PROMPT_TAGS)) -> Harness:
        calibrations = [Calibration(stream, producer, tag, kind, "prompt" if tag in prompt_tags else "pcl")
                        for stream, producer, tag, kind in PCL]
        world = ReferenceWorld(tmp_path, calibrations, T0)
        clock = ManualClock(T0)
        url = store_url or f"sqlite:///{tmp_path / 'store.db'}"
        Store(url).migrate()
        settings = Settings(db_url=url, tier0_url=world.tier0_url, conddb_url=world.conddb_url,
                            dqm_url=world.tier0_url.removesuffix("t0wmadatasvc/prod/"), http_retries=0,
                            http_timeout_s=2.0, steer_mode="sql", tier0_control_db_url=world.switch_url,
                            lookback_hours=24 * 30)
        harness = Harness(world, Agency(settings, clock=clock, policy=policy), clock)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.agency.close()
        harness.world.close()
    for harness in made:  # every scenario: no run locked unready in the world's truth but by a person's call
        assert set(harness.locked_unready) <= harness.excused, (harness.locked_unready, harness.excused)


def test_a_late_payload_moved_onto_the_next_run_never_makes_that_run_ready(harness_factory, store_url):
    h = harness_factory(store_url)
    h.run_life(1001, T0, 2, skip=frozenset({GAINS}))
    h.override(1001, T0 + 30 * H)  # so that Tier0 locks 1001 without its gains
    h.at(T0 + 2 * H + 50 * H, lambda: h.upload(1001, GAINS))  # stuck in a backlog until after 1001's lock
    h.run_life(1002, T0 + 51 * H, 2, skip=frozenset({GAINS}))  # long gap; 1002's own Gains harvest makes nothing
    h.step_to(T0 + 60 * H)
    late = h.workflow(1001, GAINS)
    assert late.state is WorkflowState.LATE and "landed late on run 1002" in late.reason
    landed = h.workflow(1002, GAINS)
    assert not landed.done, landed  # it lies at since 1002, but it is 1001's payload
    assert landed.state is WorkflowState.HARVESTING  # inserted before 1002 stopped: surely not 1002's own
    assert not h.verdicts()[1002].release
    h.step_to(T0 + 53 * H + 18 * H + 1 * H)  # 1002's give-up passes: still nothing of its own
    assert h.workflow(1002, GAINS).state is WorkflowState.MISSING
    assert not h.verdicts()[1002].release


def test_an_upload_on_the_first_conditions_safe_run_after_it_stopped_is_ambiguous(harness_factory):
    h = harness_factory(prompt_tags=frozenset({GAINS}))
    h.run_life(1001, T0, 2, skip=frozenset({GAINS}))
    h.override(1001, T0 + 30 * H)
    h.run_life(1002, T0 + 44 * H, 2, skip=frozenset({GAINS}))  # 1002 stops before 1001 locks (T0 + 49.5 h)
    h.at(T0 + 52 * H, lambda: h.upload(1001, GAINS))  # an expert uploads 1001's gains by hand
    h.step_to(T0 + 53 * H)
    gains = h.workflow(1002, GAINS)
    assert gains.state is WorkflowState.AMBIGUOUS and not gains.done
    assert "may belong to run 1002 or to run 1001" in gains.reason
    assert not h.verdicts()[1002].release
    acknowledge(h.agency.store, h.agency.policy, run=1002, workflow="SiStripGains", kind=AckKind.ACCEPT,
                author="alca", comment="this one is 1001's; 1002 may use it", now=h.clock.now())
    assert h.verdicts()[1002].release


def test_a_late_upload_to_a_pcl_tag_is_refused_and_the_run_is_missing(harness_factory):
    h = harness_factory()
    h.run_life(1001, T0, 2, skip=frozenset({ECAL}))
    h.override(1001, T0 + 30 * H)
    h.run_life(1002, T0 + 10 * H, 2)
    h.at(T0 + 50 * H, lambda: h.upload(1001, ECAL))  # refused: 1001 is locked
    h.step_to(T0 + 51 * H)
    assert h.workflow(1001, ECAL).state is WorkflowState.MISSING
    assert h.verdicts()[1001].state is RunState.OVERDUE
    assert h.verdicts()[1002].release  # 1002's own payloads went in while 1001 was unlocked


def test_tier0_is_asked_per_run_only_what_can_still_change(harness_factory):
    """Once a run's configuration was read after it stopped, only its unfinished streams are asked again;
    once they are done, nothing more is asked about the run (the release still follows its uploads)."""
    h = harness_factory()
    h.run_life(500001, T0, 1)
    h.step_to(T0 + 2 * H)  # stopped at 1 h, configuration read after the stop
    h.world.asked.clear()
    h.step_to(T0 + 3 * H)  # express not done yet
    per_run = sorted({call for call, query in h.world.asked if query.get("run") == "500001"})
    assert per_run == ["run_stream_done"]
    asked_streams = sorted(query["stream"] for call, query in h.world.asked if call == "run_stream_done")
    assert asked_streams == sorted(stream for stream, skim in SKIMS.items() if "PromptCalibProd" in skim)
    h.step_to(T0 + 5 * H)  # express done at 4 h, uploads at 5 h
    h.world.asked.clear()
    h.step_to(T0 + 6 * H)
    assert [q for _call, q in h.world.asked if q.get("run") == "500001"] == []
    assert h.verdicts()[500001].release


def test_a_per_run_tier0_fault_stays_in_its_run_and_recovers(harness_factory):
    h = harness_factory()
    for i, number in enumerate((1001, 1002, 1003)):
        h.run_life(number, T0 + i * 3 * H, 2)
    h.step_to(T0 + 4 * H)
    h.world.failing_runs.add(1002)  # while Tier0 still has news about 1002 (it stops at T0 + 5 h)
    h.step_to(T0 + 13 * H)
    verdicts = h.verdicts()
    assert verdicts[1001].release and verdicts[1003].release
    assert not verdicts[1002].release
    assert verdicts[1002].reasons[0].startswith("Tier0 Data Service failed for run 1002")
    h.world.failing_runs.clear()
    h.step_to(T0 + 14 * H)
    assert h.verdicts()[1002].release


def test_spyagency_never_resumes_a_pause_someone_else_made(harness_factory, store_url):
    h = harness_factory(store_url)
    h.run_life(1001, T0, 2)
    h.run_life(1002, T0 + 3 * H, 2)
    h.step_to(T0 + 10 * H)
    h.world.advance(T0 + 10 * H + 5 * timedelta(minutes=1))
    h.world.person_sets_switch(False, "orm-shifter")  # the big red button
    h.step_to(T0 + 60 * H)  # both runs are ready and past their lock times
    assert not h.world.switch_enabled()
    assert h.world.runs[1001].locked_at is None  # Tier0 stays paused: nobody but the ORM resumes it
    with h.agency.store.session() as session:
        picture = steering.steering_status(session, h.agency.policy, h.clock.now())
    assert picture.changed_by_others_at is not None and "someone else paused" in picture.switch_note
    h.world.advance(T0 + 60 * H + 5 * timedelta(minutes=1))
    h.world.person_sets_switch(True, "orm-shifter")
    h.step_to(T0 + 61 * H)
    assert h.world.runs[1001].locked_at is not None and h.world.runs[1002].locked_at is not None


def test_spyagency_does_not_pause_again_for_a_run_someone_resumed(harness_factory):
    h = harness_factory()
    h.run_life(1001, T0, 2, skip=frozenset({ECAL}))  # never complete
    h.run_life(1002, T0 + 3 * H, 2, skip=frozenset({ECAL}))
    h.step_to(T0 + 49 * H)  # 1001 locks at T0 + 49.5 h: SpyAgency paused an hour before
    assert not h.world.switch_enabled()
    h.world.advance(T0 + 49 * H + 5 * timedelta(minutes=1))
    h.world.person_sets_switch(True, "t0-operator")  # the operator releases anyway
    h.excused.add(1001)
    h.step_to(T0 + 50 * H)
    assert h.world.runs[1001].locked_at is not None  # Tier0 locked 1001: the operator's call, not undone
    h.step_to(T0 + 52 * H)  # 1002 (lock at T0 + 52.5 h) is unready too: SpyAgency pauses for it
    assert not h.world.switch_enabled()
    assert h.world.runs[1002].locked_at is None


def test_steering_follows_tier0_through_several_locks(harness_factory, store_url):
    h = harness_factory(store_url)
    h.run_life(1001, T0, 2)
    h.run_life(1002, T0 + 2 * H + 10 * timedelta(minutes=1), 1, skip=frozenset({ECAL}))  # overridden below
    h.run_life(1003, T0 + 3 * H + 20 * timedelta(minutes=1), 1, skip=frozenset({ECAL}))  # needs an expert
    h.run_life(1004, T0 + 4 * H + 30 * timedelta(minutes=1), 1)
    h.step_to(T0 + 30 * H)
    record_override(h.agency.store, run=1002, kind=OverrideKind.RESUME, author="t0-shifter",
                    comment="release without new pedestals", now=h.clock.now())
    h.excused.add(1002)
    h.step_to(T0 + 60 * H)
    assert h.world.runs[1001].locked_at is not None and h.world.runs[1002].locked_at is not None
    assert h.world.runs[1003].locked_at is None and not h.world.switch_enabled()  # paused for 1003
    acknowledge(h.agency.store, h.agency.policy, run=1003, workflow="EcalPedestals",
                kind=AckKind.ACCEPT_WITHOUT_PAYLOAD, author="alca", comment="old pedestals are fine",
                now=h.clock.now())
    h.step_to(T0 + 62 * H)
    assert all(h.world.runs[n].locked_at is not None for n in (1003, 1004))
    assert h.world.switch_enabled()
    assert h.locked_unready == [1002]  # the only run Tier0 locked unready is the one the operator overrode


def test_a_cosmics_run_waits_for_its_bad_channels_and_is_ready_once_they_are_in(harness_factory):
    h = harness_factory()
    h.cosmics_life(1001, T0, 2, skip=frozenset({BAD_CHANNEL}))
    h.step_to(T0 + 10 * H)
    verdict = h.verdicts()[1001]
    assert not verdict.release, verdict.reasons
    assert h.workflow(1001, BAD_CHANNEL).state is WorkflowState.HARVESTING
    assert h.workflow(1001, GAINS).state is WorkflowState.NOT_APPLICABLE  # a collision calibration
    assert not any("are in" in reason for reason in verdict.reasons)
    h.at(T0 + 11 * H, lambda: h.upload(1001, BAD_CHANNEL))
    h.step_to(T0 + 12 * H)
    verdict = h.verdicts()[1001]
    assert verdict.release and verdict.reasons == ("all 3 configured calibrations are in",)
