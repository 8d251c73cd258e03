"""Steering Tier0's releases: pause before an unready run's lock, resume when ready; exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from simulator.scenario import Outcome, SimRun, all_streams
from spyagency.passes import steer as steering

from ..conftest import START

H = timedelta(hours=1)


class Crash(Exception):
    """Stands for a process dying at the worst moment."""


@pytest.fixture
def world(world_factory, policy, store_url):
    # 386925 is vetoed: it will not be ready when its lock (START + 39.5 h) nears
    runs = [SimRun(386925, START - 12 * H, START - 8 * H, all_streams(policy), {"SiPixelAli": Outcome.VETOED}),
            SimRun(386926, START - 8 * H, START - 6 * H, all_streams(policy))]
    return world_factory(runs, store_url=store_url)


def real_actions(world):
    """The rows written to the simulated Tier0's promptreco_status after its seed row."""
    return list(world.sim.world.control_actions)


def test_pause_near_lock_then_resume_after_acknowledgement(world):
    world.at(timedelta(0))
    assert world.agency.steer().delivered == 0  # far from lock: nothing to say
    world.at(39 * H)  # half an hour before lock, within the 60 min pause margin
    assert world.agency.steer().delivered == 1
    assert [a.enabled for a in real_actions(world)] == [False]
    assert not world.sim.world.promptreco_enabled
    assert world.agency.steer().delivered == 0  # level-triggered: nothing new to do
    from spyagency.core.models import AckKind
    from spyagency.people.acknowledge import acknowledge
    acknowledge(world.store, world.agency.policy, run=386925, workflow="SiPixelAli",
                kind=AckKind.ACCEPT_WITHOUT_PAYLOAD, author="expert", comment="ok", now=world.clock.now())
    assert world.agency.steer().delivered == 1
    assert [a.enabled for a in real_actions(world)] == [False, True]


def test_operator_override_resumes_releases_and_withdrawing_it_pauses_again(world):
    from spyagency.people.overrides import OverrideKind, record_override
    world.at(39 * H)
    assert world.agency.steer().delivered == 1  # paused: 386925 is vetoed and its lock is near
    record_override(world.store, run=386925, kind=OverrideKind.RESUME, author="t0-shifter",
                    comment="AlCa on leave; run without new alignment", now=world.clock.now())
    assert world.agency.steer().delivered == 1
    assert [a.enabled for a in real_actions(world)] == [False, True]
    with world.store.session() as session:
        decision = steering.decide_steering(session, world.agency.policy, world.clock.now())
    assert decision.action == "resume" and "operator t0-shifter overrode" in decision.reason
    # the run itself is still not ready: the override steers Tier0, it does not fake readiness
    verdicts = {v.run: v for v in world.agency.observe_and_decide().decision.verdicts}
    assert verdicts[386925].release is False
    record_override(world.store, run=386925, kind=OverrideKind.WITHDRAW, author="t0-shifter",
                    comment="expert is back", now=world.clock.now())
    assert world.agency.steer().delivered == 1
    assert [a.enabled for a in real_actions(world)] == [False, True, False]


def test_override_needs_a_tracked_run_and_a_reason(world):
    from spyagency.people.overrides import OverrideError, OverrideKind, UnknownRun, record_override
    world.at(timedelta(0))
    with pytest.raises(UnknownRun):
        record_override(world.store, run=999999, kind=OverrideKind.RESUME, author="op", comment="why",
                        now=world.clock.now())
    with pytest.raises(OverrideError, match="comment"):
        record_override(world.store, run=386925, kind=OverrideKind.RESUME, author="op", comment="  ",
                        now=world.clock.now())


def test_crash_between_commit_and_send_loses_nothing(world):
    world.at(39 * H)
    row = steering.plan(world.store, world.agency.policy, world.clock.now())
    assert row is not None and row.action == "pause"
    # the process dies here: committed, never sent. A new process delivers it.
    assert real_actions(world) == []
    assert world.agency.steer().delivered == 1
    assert [a.enabled for a in real_actions(world)] == [False]


def test_crash_between_send_and_bookkeeping_repeats_nothing(world):
    world.at(39 * H)
    steering.plan(world.store, world.agency.policy, world.clock.now())
    control = world.agency.control()

    def die(*_args):
        raise Crash

    with pytest.MonkeyPatch.context() as patch, pytest.raises(Crash):
        patch.setattr("spyagency.store.outbox.mark_sent", die)  # the process dies before writing "sent"
        steering.deliver(world.store, control, world.clock.now())
    assert len(steering.pending_actions(world.store)) == 1  # Tier0 got it, we did not write it down
    assert world.agency.steer().delivered == 1  # resent: it finds its own row by the recorded change_time …
    assert [a.enabled for a in real_actions(world)] == [False]  # … and writes nothing again
    assert steering.pending_actions(world.store) == []


def test_a_switch_database_out_of_reach_is_a_failure_said_everywhere_until_it_is_back(world, tmp_path):
    reachable = world.agency.settings.tier0_control_db_url
    world.agency.settings = world.agency.settings.model_copy(
        update={"tier0_control_db_url": f"sqlite:///{tmp_path / 'no-such-dir' / 't0.db'}"})
    world.at(39 * H)
    result = world.agency.steer()
    assert result.delivered == 0 and result.failed
    assert any("pause (run 386925) could not be delivered" in failure for failure in result.failures)
    pending = steering.pending_actions(world.store)
    assert len(pending) == 1 and pending[0].attempts == 1 and "unable to open database" in pending[0].last_error
    with world.store.session() as session:  # never "already as SpyAgency wants it" while it is not
        status = steering.steering_status(session, world.agency.policy, world.clock.now())
    assert status.switch_note.startswith("SpyAgency wants to pause Tier0 but could not deliver it")
    world.agency.close_control()
    world.agency.settings = world.agency.settings.model_copy(update={"tier0_control_db_url": reachable})
    assert world.agency.steer().delivered == 1
    assert [a.enabled for a in real_actions(world)] == [False]


def test_dry_run_only_logs(world, caplog):
    world.agency.settings = world.agency.settings.model_copy(update={"steer_mode": "dry-run"})
    world.at(39 * H)
    assert world.agency.steer().delivered == 0
    assert real_actions(world) == [] and "would pause" in caplog.text


def test_an_action_names_its_run_and_kind_and_pending_ones_go_out_in_order(world):
    from spyagency.store.tables import OutboxRow

    world.at(39 * H)
    row = steering.plan(world.store, world.agency.policy, world.clock.now())
    assert row is not None and row.run == 386925 and row.action == "pause"
    assert row.idempotency_key.startswith("spyagency-") and row.idempotency_key.endswith("-pause-386925")
    with world.store.session() as session:  # a warning waits in the same outbox: not a steering action
        session.add(OutboxRow(idempotency_key="notify-386925", action="notify", run=386925, reason="warn",
                              created_at=world.clock.now()))
        session.add(OutboxRow(idempotency_key="spyagency-k-resume-386925", action="resume", run=386925,
                              reason="test", created_at=world.clock.now()))

    def relay_down(row: OutboxRow) -> None:
        raise ConnectionRefusedError("Tier0 down")

    # a failed attempt rewrites the pause's row (attempts, last_error), which on PostgreSQL moves it on disk:
    # the oldest action still goes first
    assert steering.deliver(world.store, relay_down, world.clock.now()).delivered == 0
    pending = steering.pending_actions(world.store)
    assert [p.action for p in pending] == ["pause", "resume"]  # oldest first, steering only
    assert pending[0].attempts == 1 and pending[1].attempts == 0
    sent: list[str] = []
    steering.deliver(world.store, lambda r: sent.append(r.action), world.clock.now())
    assert sent == ["pause", "resume"]


def test_a_foreign_pause_cancels_what_spyagency_had_pending(world):
    from spyagency.store.tables import OutboxRow

    world.at(39 * H)
    steering.plan(world.store, world.agency.policy, world.clock.now())  # SpyAgency's pause, not delivered yet
    assert len(steering.pending_actions(world.store)) == 1
    world.sim.world.operator_switch(False, "orm-shifter")  # someone pauses by hand meanwhile
    world.at(39 * H + timedelta(minutes=2))
    steering.observe_switch(world.store, world.agency.control(), world.clock.now())
    cancelled_at = world.clock.now()
    assert steering.plan(world.store, world.agency.policy, cancelled_at) is None
    assert steering.pending_actions(world.store) == []
    with world.store.session() as session:
        row = session.query(OutboxRow).filter(OutboxRow.action == "pause").one()
        assert row.cancelled_at is not None and row.cancelled_at.replace(tzinfo=None) == \
            cancelled_at.replace(tzinfo=None)
        assert row.last_error.startswith("cancelled: someone else paused Tier0 at")


def test_the_steering_status_says_what_spyagency_last_asked(world):
    with world.store.session() as session:  # an empty store: no Tier0 reading yet
        status = steering.steering_status(session, world.agency.policy, world.clock.now())
    assert status.last_requested is None and status.promptreco_enabled is None and status.pending == []
    world.at(39 * H)
    assert world.agency.steer().delivered == 1
    with world.store.session() as session:
        status = steering.steering_status(session, world.agency.policy, world.clock.now())
    assert status.last_requested == "pause" and status.desired.action == "pause"
    assert status.promptreco_enabled is True  # the last reading of the switch, taken before the pause went out


def test_tier0s_line_as_steering_reads_it_from_the_store(tmp_path):
    """From the first conditions-safe run up (or every run not finalized, before Tier0 named one), in run
    order, at most LINE_LENGTH runs; a run Tier0 said it does not know is not in its line."""
    from spyagency.store import Store
    from spyagency.store.queries import tier0_line
    from spyagency.store.tables import Tier0GlobalRow, TrackedRun

    store = Store(f"sqlite:///{tmp_path / 'line.db'}")
    store.migrate()
    t = START
    with store.session() as session:
        for run in range(386930, 386900, -1):  # inserted out of order
            session.add(TrackedRun(run=run, start_time=t, first_seen=t, tier0_known=True, tier0_observed_at=t,
                                   finalized=run < 386905, awaiting=["tier0", "dqm"] if run == 386906 else []))
        session.get(TrackedRun, 386907).tier0_known = False  # Tier0 said: no such run
        unknown = session.get(TrackedRun, 386908)
        unknown.tier0_known, unknown.tier0_observed_at = False, None  # Tier0 never answered: it may be in line
    with store.session() as session:
        before_fcsr = tier0_line(session, steering.LINE_LENGTH)
        session.add(Tier0GlobalRow(id=1, first_conditions_safe_run=386903, observed_at=t))
        session.flush()
        from_fcsr = tier0_line(session, steering.LINE_LENGTH)
    runs = [e.run for e in before_fcsr]
    assert runs == sorted(runs) and runs[0] == 386905 and 386907 not in runs and 386908 in runs
    assert len(runs) == steering.LINE_LENGTH
    assert [e.run for e in from_fcsr][:3] == [386903, 386904, 386905]  # finalized or not, Tier0 decides
    awaiting = next(e for e in before_fcsr if e.run == 386906).awaiting
    assert awaiting == ("the Tier0 Data Service", "the DQM GUI")
    store.dispose()


def test_a_refused_action_is_cancelled_with_its_reason_and_the_next_one_still_goes_out(world):
    from spyagency.errors import SwitchTakenOver
    from spyagency.passes.outbox import deliver_pending
    from spyagency.store.tables import OutboxRow

    world.at(39 * H)
    with world.store.session() as session:
        for key, action in (("k1-pause", "pause"), ("k2-resume", "resume")):
            session.add(OutboxRow(idempotency_key=key, action=action, run=386925, reason="t",
                                  created_at=world.clock.now()))
    pending = steering.pending_actions(world.store)

    def first_refused(row: OutboxRow) -> None:
        if row.idempotency_key == "k1-pause":
            raise SwitchTakenOver("someone else paused", enabled=False)

    assert deliver_pending(world.store, pending, first_refused, world.clock.now()) == 1
    with world.store.session() as session:
        refused = session.query(OutboxRow).filter_by(idempotency_key="k1-pause").one()
        sent = session.query(OutboxRow).filter_by(idempotency_key="k2-resume").one()
    assert refused.cancelled_at is not None and refused.sent_at is None
    assert refused.last_error == "SwitchTakenOver: someone else paused"
    assert sent.sent_at is not None


def test_each_attempt_is_counted(world):
    from spyagency.passes.outbox import deliver_pending

    world.at(39 * H)
    steering.plan(world.store, world.agency.policy, world.clock.now())

    def down(row) -> None:  # type: ignore[no-untyped-def]
        raise ConnectionRefusedError("Tier0 down")

    for _ in range(3):
        assert deliver_pending(world.store, steering.pending_actions(world.store), down, world.clock.now()) == 0
    [row] = steering.pending_actions(world.store)
    assert row.attempts == 3 and row.last_error == "ConnectionRefusedError: Tier0 down"


def test_under_a_persons_pause_spyagency_stands_by_and_pauses_the_moment_they_resume(world_factory, policy):
    import threading
    import time

    runs = [SimRun(386925, START - 12 * H, START - 8 * H, all_streams(policy), {"SiPixelAli": Outcome.VETOED})]
    world = world_factory(runs, switch_watch_s=0.05)
    world.at(38 * H)  # 386925 is vetoed; its lock (39.5 h) is not near yet
    world.sim.world.operator_switch(False, "orm-shifter")  # the Offline Run Manager pauses for a reason of theirs
    world.at(39 * H)  # now SpyAgency would pause: their pause holds the run back for it
    assert world.agency.steer().delivered == 0
    assert [(a.enabled, a.by_hand) for a in real_actions(world)] == [(False, True)]
    assert steering.standing_by(world.store, world.agency.policy, world.clock.now()).run == 386925
    # Tier0's feeder would lock 386925 within 30 s of their resume: SpyAgency reads the switch meanwhile
    resume = threading.Timer(0.3, lambda: world.sim.world.operator_switch(True, "orm-shifter"))
    resume.start()
    watched = world.agency.watch_for_release(20.0)
    resume.join()
    assert watched is not None and watched.delivered == 1 and not watched.failed
    assert [row.status for row in world.agency.control().newest()] == [0]  # SpyAgency's pause is on top
    # ready (or not standing by): the watch returns at once instead of holding the steer pass for its window
    started = time.monotonic()
    assert world.agency.watch_for_release(60.0) is None
    assert time.monotonic() - started < 30
