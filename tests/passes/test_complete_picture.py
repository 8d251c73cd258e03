"""Decisions on a consistent picture: no warning or pause rests on a source that has not looked at a run,
and a warning that no longer holds is followed up once per change."""

from datetime import timedelta

import pytest

from simulator.scenario import Outcome, SimRun, all_streams
from spyagency.core.models import AckKind, Source
from spyagency.passes.steer import WAIT, pending_actions
from spyagency.passes.warn import FOLLOW_UP, NOTIFY, pending_notifications
from spyagency.people.acknowledge import acknowledge
from spyagency.store.observations import load_observations
from spyagency.store.tables import OutboxRow, TrackedRun

from ..conftest import START

H = timedelta(hours=1)


@pytest.fixture
def world(world_factory, policy):
    # a fresh store meets a run 30 min before its lock (stop 8 h before START, lock 39.5 h after it),
    # inside the pause window, with one calibration really missing and the pixel alignment vetoed (DQM says so)
    runs = [SimRun(386925, START - 12 * H, START - 8 * H, all_streams(policy),
                   {"SiStripGains": Outcome.MISSING, "SiPixelAli": Outcome.VETOED})]
    world = world_factory(runs)
    world.clock.current = START + 39 * H
    world.sim.advance(world.clock.now())
    return world


def _messages(world):
    with world.store.session() as session:
        return list(session.query(OutboxRow).filter(OutboxRow.action.in_((NOTIFY, FOLLOW_UP)))
                    .order_by(OutboxRow.id))


def test_a_run_only_conddb_has_seen_is_not_judged_on_what_tier0_and_dqm_did_not_say(world):
    # as on a fresh Airflow deployment: Tier0 and DQM polled before the CondDB poll recorded any run
    world.agency.poll(Source.TIER0)
    world.agency.poll(Source.DQM)
    world.agency.poll(Source.CONDDB)
    verdict = world.agency.decide().verdicts[0]
    assert not verdict.release
    assert verdict.awaiting == (Source.TIER0,)
    assert "Tier0 Data Service has not looked at run 386925 yet" in verdict.reasons
    assert not any("no configuration" in r for r in verdict.reasons)
    assert world.agency.warn(send=lambda row: None) == 0  # no warning on a provisional verdict
    assert world.agency.steer().delivered == 0 and pending_actions(world.store) == []  # and no pause
    with world.store.session() as session:
        from spyagency.passes.steer import decide_steering
        assert decide_steering(session, world.agency.policy, world.clock.now()).action == WAIT

    world.agency.poll(Source.TIER0)  # Tier0 named the era: now the DQM GUI must look too
    verdict = world.agency.decide().verdicts[0]
    assert verdict.awaiting == (Source.DQM,)
    [pixel] = [w for w in verdict.workflows if w.workflow == "SiPixelAli"]
    assert pixel.reason == "DQM GUI has not looked at run 386925 yet"  # not "missing": DQM may say why
    assert world.agency.warn(send=lambda row: None) == 0

    world.agency.poll(Source.DQM)
    verdict = world.agency.decide().verdicts[0]
    assert verdict.awaiting == ()
    sent = []
    assert world.agency.warn(send=sent.append) == 1
    blocking = {w.workflow: w.state.value for w in verdict.workflows if not w.done}
    assert blocking == {"SiPixelAli": "vetoed", "SiStripGains": "missing"}
    assert sent[0].reason.endswith("still lacks: SiPixelAli (vetoed), SiStripGains (missing)")
    assert world.agency.steer().delivered == 1  # the pause now rests on what every source said
    assert "SiStripGains: no payload" in pending_or_sent_pause(world).reason


def pending_or_sent_pause(world):
    with world.store.session() as session:
        return session.query(OutboxRow).filter(OutboxRow.action == "pause").one()


def test_a_failing_source_that_never_looked_does_not_hold_back_a_pause(world):
    world.sim.world.tier0_run_faults.add(386925)  # Tier0 answers, but fails for this run
    world.agency.observe_and_decide()
    verdict = world.agency.decide().verdicts[0]
    assert verdict.awaiting == ()  # Tier0 did look: its failure is a fact
    assert any("Tier0 Data Service failed for run 386925" in r for r in verdict.reasons)
    assert world.agency.steer().delivered == 1  # paused, naming the failure


def test_a_source_never_polled_is_awaited_with_its_own_reason(world):
    world.agency.poll(Source.CONDDB)
    with world.store.session() as session:
        row = session.get(TrackedRun, 386925)
        assert row is not None and row.dqm_observed_at is None
        observed = load_observations(session, [386925], {}, {})[386925]
    assert observed.unobserved_by == (Source.TIER0,)
    verdict = world.agency.decide().verdicts[0]
    assert verdict.awaiting == (Source.TIER0,) and verdict.reasons[0] == "Tier0 Data Service has not answered yet"
    assert world.agency.steer().delivered == 0


def test_a_sent_warning_is_followed_up_once_per_change_until_nothing_blocks(world, policy):
    world.agency.observe_and_decide()
    assert world.agency.warn(send=lambda row: None) == 1
    assert world.agency.warn(send=lambda row: None) == 0

    world.sim.world.upload(386925, "SiStripGains", world.clock.now())  # an expert uploads by hand
    world.clock.current += timedelta(minutes=5)
    world.sim.advance(world.clock.now())
    world.agency.observe_and_decide()
    sent = []
    assert world.agency.warn(send=sent.append) == 1
    assert world.agency.warn(send=sent.append) == 0  # reported once
    update = sent[0]
    assert update.action == FOLLOW_UP
    assert "SiStripGains no longer blocks (uploaded" in update.reason
    assert update.reason.endswith("still lacking: SiPixelAli (vetoed)")
    assert [m.idempotency_key for m in _messages(world)] == ["notify-386925", "notify-386925-update-1"]


def test_an_acknowledgement_after_the_warning_is_followed_up(world, policy):
    world.agency.observe_and_decide()
    assert world.agency.warn(send=lambda row: None) == 1
    acknowledge(world.store, policy, run=386925, workflow="SiStripGains", kind=AckKind.ACCEPT_WITHOUT_PAYLOAD,
                author="alca-expert", comment="gains stable, previous payload is fine", now=world.clock.now())
    sent = []
    assert world.agency.warn(send=sent.append) == 1
    assert "SiStripGains no longer blocks (acknowledged: accepted without payload by alca-expert" in sent[0].reason


def test_a_warning_the_relay_held_back_says_what_blocks_when_it_goes_out(world, policy):
    world.agency.observe_and_decide()

    def relay_down(row):
        raise ConnectionRefusedError("relay down")

    assert world.agency.warn(send=relay_down) == 0
    acknowledge(world.store, policy, run=386925, workflow="SiStripGains", kind=AckKind.ACCEPT,
                author="alca-expert", comment="", now=world.clock.now())
    assert world.agency.warn(send=relay_down) == 0
    [pending] = pending_notifications(world.store)
    assert pending.reason.endswith("still lacks: SiPixelAli (vetoed)")  # rewritten before it goes out
    assert pending.detail == {"blocking": {"SiPixelAli": "vetoed"}}
