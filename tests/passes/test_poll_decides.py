"""`poll --once` against the simulator: on-time, late, missing, vetoed payloads and a Tier0 outage."""

from __future__ import annotations

from datetime import timedelta

import pytest

from simulator.httpserver import Fault
from simulator.scenario import Outcome, SimRun, all_streams
from spyagency.core.models import RunState, WorkflowState
from spyagency.store.queries import get_run, history

from ..conftest import START

H = timedelta(hours=1)


def sim_run(policy, number: int, stop_hours: float, **outcomes: Outcome) -> SimRun:
    stop = START + stop_hours * H
    return SimRun(number, stop - 2 * H, stop, all_streams(policy), dict(outcomes))


@pytest.fixture
def runs(policy):
    return [
        sim_run(policy, 386925, -8),
        sim_run(policy, 386926, -7, SiPixelAli=Outcome.VETOED),
        sim_run(policy, 386927, -6, EcalPedestals=Outcome.MISSING),
        sim_run(policy, 386928, -5, SiStripGains=Outcome.LATE),
        sim_run(policy, 386929, -4, SiPixelAliHGComb=Outcome.NO_PAYLOAD),
    ]


def test_on_time_payloads_make_a_run_ready(world_factory, runs, store_url):
    world = world_factory(runs, store_url=store_url)
    verdict = world.at(timedelta(0))[386925]
    assert verdict.state is RunState.READY and verdict.release
    assert all(w.done for w in verdict.workflows)
    uploaded = {w.workflow for w in verdict.workflows if w.state is WorkflowState.UPLOADED}
    assert "BeamSpotHPByLumi" in uploaded and "SiStripGains" in uploaded


def test_vetoed_alignment_keeps_the_run_not_ready_with_the_dqm_reason(world_factory, runs):
    world = world_factory(runs)
    verdict = world.at(timedelta(0))[386926]
    assert verdict.state is RunState.NOT_READY and not verdict.release
    ali = next(w for w in verdict.workflows if w.workflow == "SiPixelAli")
    assert ali.state is WorkflowState.VETOED
    assert "DB update vetoed" in ali.reason


def test_no_payload_by_design_counts_as_done(world_factory, runs):
    verdict = world_factory(runs).at(timedelta(0))[386929]
    comb = next(w for w in verdict.workflows if w.workflow == "SiPixelAliHGComb")
    assert comb.state is WorkflowState.NO_PAYLOAD and comb.done
    assert verdict.state is RunState.READY


def test_missing_payload_is_harvesting_then_missing_after_give_up(world_factory, runs):
    world = world_factory(runs)
    before = world.at(timedelta(0))[386927]
    ecal = next(w for w in before.workflows if w.workflow == "EcalPedestals")
    assert ecal.state is WorkflowState.HARVESTING and before.state is RunState.NOT_READY
    after = world.at(13 * H)[386927]  # stop + 19 h: past the 18 h PCL give-up
    ecal = next(w for w in after.workflows if w.workflow == "EcalPedestals")
    assert ecal.state is WorkflowState.MISSING and "give-up" in ecal.reason
    assert after.state is RunState.NOT_READY and not after.release


def test_late_payload_lands_on_a_later_run_and_does_not_count_for_either(world_factory, runs, store_url):
    world = world_factory(runs, store_url=store_url)
    world.at(timedelta(0))
    verdicts = world.at(43 * H)  # 386928 locks at START + 42.5 h, 386929 only at 43.5 h
    late = verdicts[386928]
    gains = next(w for w in late.workflows if w.workflow == "SiStripGains")
    assert gains.state is WorkflowState.LATE
    assert "landed late on run 386929" in gains.reason
    assert late.state is RunState.OVERDUE and not late.release
    assert verdicts[386929].state in (RunState.READY, RunState.RELEASED)  # its own gains came on time
    with world.store.session() as session:
        summary = get_run(session, 386928)
        states = [c.state for c in history(session, 386928) if c.workflow == "SiStripGains"]
    assert summary is not None and summary.state == "overdue"
    assert states[-1] == "late" and "waiting_express" not in states[-1:]


def test_a_late_payload_never_counts_as_the_harvest_of_the_run_it_landed_on(world_factory, policy):
    # 386929's own gains never come: the only payload at since 386929 is 386928's, moved up to
    # the first conditions-safe run after 386928 locked. Counting it as 386929's would release 386929.
    runs = [sim_run(policy, 386928, -5, SiStripGains=Outcome.LATE),
            sim_run(policy, 386929, -4, SiStripGains=Outcome.MISSING)]
    world = world_factory(runs)
    world.at(timedelta(0))
    verdicts = world.at(43 * H)
    gains = next(w for w in verdicts[386929].workflows if w.workflow == "SiStripGains")
    assert gains.state is WorkflowState.AMBIGUOUS and not gains.done, gains.reason
    assert "386928" in gains.reason  # names the run whose late payload it may be
    assert not verdicts[386929].release
    late = next(w for w in verdicts[386928].workflows if w.workflow == "SiStripGains")
    assert late.state is WorkflowState.LATE


def test_tier0_outage_makes_every_run_not_ready_and_recovers(world_factory, runs, store_url):
    world = world_factory(runs, store_url=store_url)
    assert world.at(timedelta(0))[386925].state is RunState.READY
    world.sim.tier0.fault = Fault.HTTP_500
    cycle = world.cycle()
    tier0_poll = next(p for p in cycle.polls if p.source.value == "tier0")
    assert not tier0_poll.ok and "HTTP 500" in (tier0_poll.error or "")
    for verdict in cycle.decision.verdicts:
        assert not verdict.release
        assert any("Tier0 Data Service" in reason for reason in verdict.reasons)
    world.sim.tier0.fault = Fault.NONE
    assert world.verdicts()[386925].state is RunState.READY


def test_run_released_once_tier0_locks_it_with_everything_in(world_factory, runs):
    world = world_factory(runs)
    verdict = world.at(41 * H)[386925]  # stop + 49 h: locked at 47.5 h
    assert verdict.state is RunState.RELEASED and verdict.release


def test_stale_source_data_is_not_trusted(world_factory, runs):
    world = world_factory(runs)
    assert world.at(timedelta(0))[386925].state is RunState.READY
    world.sim.tier0.fault = Fault.HTTP_500
    world.sim.dqm.fault = Fault.HTTP_500
    # a decision made long after the last good answers, with every source failing
    world.clock.current = START + 2 * H
    verdict = {v.run: v for v in world.cycle().decision.verdicts}[386925]
    assert verdict.state is RunState.NOT_READY
    assert any("Tier0" in r for r in verdict.reasons)
