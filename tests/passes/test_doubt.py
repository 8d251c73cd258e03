"""Doubting every answer: a wrong or broken answer from a source never releases a run, stays in its run and
its source, and the truth, once it comes back, repairs every verdict. Lies are told by a hostile front
between SpyAgency and the honest simulator."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from simulator.scenario import demo_runs
from spyagency.core.models import RunState, Source, WorkflowState
from spyagency.store.observations import tier0_global

from ..conftest import START, make_world
from ..support.lying_proxy import Lie, LiedWorld, rewrite_json

H = timedelta(hours=1)


@pytest.fixture
def lied(world_factory) -> Iterator[LiedWorld]:
    world = LiedWorld(world_factory())
    yield world
    world.close()


@pytest.fixture
def shipped_lied(tmp_path, shipped_policy) -> Iterator[LiedWorld]:
    """A lied-to world under the policy as shipped: a configuration needs two agreeing reads 5 min apart."""
    # reads through the fronts are slow on a loaded machine: a read that times out would be safe, but not the lie
    world = make_world(tmp_path / "shipped", shipped_policy, demo_runs(shipped_policy, START), http_timeout_s=10.0)
    lied = LiedWorld(world)
    yield lied
    lied.close()
    world.agency.close()
    world.sim.stop()
    world.store.dispose()


def _poll(cycle: Any, source: Source) -> Any:
    return next(p for p in cycle.polls if p.source is source)


@pytest.mark.parametrize("reading", [9_999_999, 10**20, 386_000])
def test_an_implausible_fcsr_is_not_believed_and_the_last_plausible_one_stays(lied, reading):
    before = lied.verdicts()
    with lied.agency.store.session() as session:
        believed = tier0_global(session).first_conditions_safe_run
    assert believed is not None
    lied.tier0.liar = rewrite_json("firstconditionsaferun", lambda _doc: {"result": [reading]})
    cycle = lied.cycle()
    tier0 = _poll(cycle, Source.TIER0)
    assert not tier0.ok and "firstconditionsaferun answered" in (tier0.error or "")
    with lied.agency.store.session() as session:
        assert tier0_global(session).first_conditions_safe_run == believed
    after = {v.run: v for v in cycle.decision.verdicts}
    newly_released = [run for run, v in after.items() if v.release and not before[run].release]
    assert newly_released == []
    lied.tier0.liar = None
    assert _poll(lied.cycle(), Source.TIER0).ok


@pytest.mark.parametrize("broken", [math.nan, -1.0, math.inf])
def test_a_broken_dqm_status_bin_is_unreadable_not_a_verdict_and_the_truth_brings_the_veto_back(lied, broken):
    lied.world.clock.current = START - 14 * H  # run 386926 stopped 16 h ago: harvested, before its PCL give-up

    def break_bins(document: Any) -> Any:  # only the veto bin lies; the other bins say what they said
        labels = [label["value"] if isinstance(label, dict) else label for label in document["hist"]["xaxis"]["labels"]]
        for row in document["hist"]["bins"]["content"]:
            row[labels.index("DB update vetoed")] = broken
        return document

    lied.dqm.liar = rewrite_json("SiPixelAli/statusResults", break_bins)
    verdict = lied.verdicts()[386926]
    ali = next(w for w in verdict.workflows if w.workflow == "SiPixelAli")
    assert lied.dqm.lies > 0
    assert ali.state is not WorkflowState.NO_PAYLOAD and not ali.done
    assert "not a count" in ali.reason or "negative" in ali.reason
    assert not verdict.release
    lied.dqm.liar = None
    ali = next(w for w in lied.verdicts()[386926].workflows if w.workflow == "SiPixelAli")
    assert ali.state is WorkflowState.VETOED


def test_one_deeply_nested_answer_faults_only_its_run_and_the_poll_records_it(lied):
    lied.tier0.liar = lambda path, status, body: (Lie(b"[" * 100_000 + b"]" * 100_000)
                                                  if "express_config" in path and "run=386929" in path else None)
    cycle = lied.cycle()
    tier0 = _poll(cycle, Source.TIER0)
    assert tier0.ok and tier0.run_faults == (386929,)
    verdicts = {v.run: v for v in cycle.decision.verdicts}
    assert not verdicts[386929].release and "malformed JSON" in " ".join(verdicts[386929].reasons)
    assert verdicts[386925].release  # the other runs are decided as ever


def test_one_run_whose_decision_raises_is_not_ready_and_the_others_are_decided(lied, monkeypatch):
    from spyagency.passes import one_run as deciding

    real = deciding.decide_run

    def fragile(observations, *args):
        if observations.info.run == 386929:
            raise ValueError("a fact no rule expected")
        return real(observations, *args)

    monkeypatch.setattr(deciding, "decide_run", fragile)
    verdicts = lied.verdicts()
    broken = verdicts[386929]
    assert broken.state is RunState.NOT_READY and not broken.release
    assert "could not decide run 386929: ValueError: a fact no rule expected" in broken.reasons[0]
    assert broken.lock_time is not None  # steering still sees its lock coming
    assert verdicts[386925].release


def test_an_empty_express_configuration_after_stop_is_not_yet_and_the_truth_is_asked_again(lied, tmp_path):
    truthful = lied.verdicts()[386925]
    assert truthful.release
    lied.world.clock.current = START + 10 * timedelta(minutes=1)
    lied.tier0.liar = rewrite_json("express_config", lambda _doc: {"result": []})
    lied_to = lied.verdicts()[386925]
    # run 386925's configuration was already read after it stopped: it is settled, so the lie is not even asked
    assert lied_to.release
    fresh = lied.fresh_deployment(f"sqlite:///{tmp_path / 'fresh.db'}")  # its first reading is the lie
    try:
        verdict = fresh.verdicts()[386925]
        assert not verdict.release and verdict.state is RunState.NOT_READY
        assert "Tier0 lists no express stream for run 386925 yet" in " ".join(verdict.reasons)
        lied.tier0.liar = None
        lied.world.clock.current = START + 20 * timedelta(minutes=1)
        assert fresh.verdicts()[386925].release  # asked again: the empty answer was never final
    finally:
        fresh.close()


def test_an_express_configuration_that_shrinks_is_a_fault_of_its_run(lied):
    lied.world.clock.current = START - 3 * H  # run 386930 is taking data: its streams are configured
    assert lied.verdicts()
    lied.world.clock.current = START
    lied.tier0.liar = lambda path, status, body: (
        Lie(json.dumps({"result": [row for row in json.loads(body)["result"] if row["stream"] == "Calibration"]})
            .encode()) if "express_config" in path and "run=386930" in path else None)
    cycle = lied.cycle()
    assert 386930 in _poll(cycle, Source.TIER0).run_faults
    verdict = {v.run: v for v in cycle.decision.verdicts}[386930]
    assert not verdict.release and "a partial answer" in " ".join(verdict.reasons)


def _only_stream(stream: str, run: int) -> Any:
    """A front whose express_config of ``run`` lists only ``stream``: what a transfer backlog answers."""
    def lie(path: str, status: int, body: bytes) -> Lie | None:
        if "express_config" not in path or f"run={run}" not in path:
            return None
        rows = [row for row in json.loads(body)["result"] if row["stream"] == stream]
        return Lie(json.dumps({"result": rows}).encode())
    return lie


def test_a_partial_configuration_after_stop_is_not_believed_until_two_reads_5_minutes_apart_agree(shipped_lied):
    minute = timedelta(minutes=1)
    shipped_lied.tier0.liar = _only_stream("Express", 386929)
    first = shipped_lied.verdicts()[386929]
    assert not first.release
    assert "was read once since the run stopped" in " ".join(first.reasons)
    shipped_lied.tier0.liar = None  # the backlog clears: the whole configuration, which grew
    shipped_lied.world.clock.current = START + 6 * minute
    grown = shipped_lied.verdicts()[386929]
    assert not grown.release and "was read once since the run stopped" in " ".join(grown.reasons)
    shipped_lied.world.clock.current = START + 12 * minute
    believed = shipped_lied.verdicts()[386929]
    assert believed.release, believed.reasons
    waited = {w.workflow for w in believed.workflows if w.state is not WorkflowState.NOT_APPLICABLE}
    assert "SiPixelAli" in waited  # a producer of a stream the partial answer left out is waited for


def test_a_configuration_read_twice_too_close_together_is_not_believed(shipped_lied):
    shipped_lied.verdicts()
    shipped_lied.world.clock.current = START + timedelta(minutes=4)  # inside cmsweb's 300 s cache
    verdict = shipped_lied.verdicts()[386929]
    assert not verdict.release and "from 2026-" in " ".join(verdict.reasons)
    shipped_lied.world.clock.current = START + timedelta(minutes=5)
    assert shipped_lied.verdicts()[386929].release


def test_a_stop_time_that_jumps_later_keeps_the_earlier_lock_and_one_moved_back_brings_it_nearer(lied):
    from sqlalchemy import create_engine, update

    from spyagency.sources.conddb_schema import RUN_INFO

    before = lied.verdicts()[386931]  # stopped an hour ago... not yet: it stops at START + 1 h
    lied.world.clock.current = START + 2 * H
    stopped = lied.verdicts()[386931]
    assert stopped.lock_time is not None and before.lock_time is None
    engine = create_engine(lied.world.sim.conddb_url)

    def move_stop(by: timedelta) -> None:
        with engine.begin() as conn:
            conn.execute(update(RUN_INFO).where(RUN_INFO.c.RUN_NUMBER == 386931)
                         .values(END_TIME=(START + H + by).replace(tzinfo=None)))

    move_stop(30 * H)
    lied.world.clock.current = START + 2 * H + timedelta(minutes=10)
    assert lied.verdicts()[386931].lock_time == stopped.lock_time  # a later stop would give more time: not taken
    move_stop(-timedelta(minutes=30))
    lied.world.clock.current = START + 2 * H + timedelta(minutes=20)
    assert lied.verdicts()[386931].lock_time == stopped.lock_time - timedelta(minutes=30)
    engine.dispose()


def test_a_pass_slowed_past_its_deadline_fails_the_source_and_keeps_what_it_read(world_factory):
    lied = LiedWorld(world_factory(source_pass_deadline_s=0.5))
    try:
        assert _poll(lied.cycle(), Source.TIER0).ok
        lied.tier0.delay_s = 0.3  # each answer in time for its request's deadline, the pass not
        cycle = lied.cycle()
        tier0 = _poll(cycle, Source.TIER0)
        assert not tier0.ok and "the pass ran past its 0.5 s deadline" in (tier0.error or "")
        assert "not asked" in (tier0.error or "")
        verdicts = {v.run: v for v in cycle.decision.verdicts}
        assert not any(v.release for v in verdicts.values())  # a failed source holds every run back
        assert any("the pass ran past its 0.5 s deadline" in " ".join(v.reasons) for v in verdicts.values())
        lied.tier0.delay_s = 0.0
        assert _poll(lied.cycle(), Source.TIER0).ok  # asked again, whole, next poll
    finally:
        lied.close()


def test_a_plausible_looking_no_update_read_once_never_releases_a_vetoed_run(shipped_lied):
    """A histogram whose veto bin reads 0 looks like a harvest that made no payload by design: believed from
    one reading, it released a vetoed run for good (found by the lying-world property)."""
    shipped_lied.world.clock.current = START - 14 * H  # run 386926 stopped 16 h ago: harvested, vetoed

    def veto_cleared(document: Any) -> Any:
        labels = [label["value"] if isinstance(label, dict) else label for label in document["hist"]["xaxis"]["labels"]]
        for row in document["hist"]["bins"]["content"]:
            row[labels.index("DB update vetoed")] = 0
        return document

    shipped_lied.dqm.liar = rewrite_json("SiPixelAli/statusResults", veto_cleared)  # its first reading lies
    for minute in range(5):  # the polls run side by side: the histogram is read once Tier0 named the run's era
        lied_at = START - 14 * H + timedelta(minutes=minute)
        shipped_lied.world.clock.current = lied_at
        verdict = shipped_lied.verdicts()[386926]
        if shipped_lied.dqm.lies:
            break
    ali = next(w for w in verdict.workflows if w.workflow == "SiPixelAli")
    assert shipped_lied.dqm.lies >= 1
    assert not verdict.release and not ali.done, (ali.state, ali.reason)
    assert "no payload by design" in ali.reason and "read once at" in ali.reason
    shipped_lied.dqm.liar = None  # the truth, asked again because one reading was not believed
    shipped_lied.world.clock.current = lied_at + timedelta(minutes=6)
    ali = next(w for w in shipped_lied.verdicts()[386926].workflows if w.workflow == "SiPixelAli")
    assert ali.state is WorkflowState.VETOED
