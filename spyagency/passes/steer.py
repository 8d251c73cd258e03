"""Act: steer Tier0's prompt-reco releases through the global ``promptreco_status`` switch.

Level-triggered. From the stored verdicts of the runs in Tier0's line (from the first
conditions-safe run up), the desired switch position is computed; if SpyAgency has not
already asked for it, an action is put in the outbox in the same transaction. A sender
then delivers pending actions with their idempotency key and marks them sent. A crash
after the commit loses nothing (the action waits in the outbox); a crash after sending
repeats nothing (Tier0 ignores a key it has seen).

The switch is shared with people (the Offline Run Manager's "big red button"): SpyAgency
never resumes a pause it did not make, and does not pause again for a run after someone
resumed over its pause for that run.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from spyagency.core.models import STEERING_ACTIONS, LineRun, OutboxEntry, ResumeOverride, SwitchPicture, Tier0Global
from spyagency.core.steering import PAUSE, RESUME, WAIT, SteeringDecision, desired_switch, shared_switch_step
from spyagency.errors import SwitchTakenOver
from spyagency.passes.outbox import Send, deliver_pending
from spyagency.policy import Policy
from spyagency.sources.tier0_switch import SqlControl
from spyagency.store import Session, Store
from spyagency.store.observations import record_switch_reading, tier0_global
from spyagency.store.outbox import add_entry, pending_entries, record_change_time, switch_writes
from spyagency.store.people import active_resumes
from spyagency.store.queries import tier0_line
from spyagency.store.switch import cancel_pending, record_refusal, record_switch, switch_picture

log = logging.getLogger(__name__)

__all__ = ["PAUSE", "RESUME", "WAIT", "SteerResult", "SteeringDecision", "SteeringStatus", "decide_steering",
           "deliver", "observe_switch", "own_switch_writes", "pending_actions", "plan", "remember_change_time",
           "standing_by", "steering_status"]

#: How many runs of Tier0's line steering looks at (Tier0 may lock several in one go).
LINE_LENGTH = 20


def decide_steering(session: Session, policy: Policy, now: datetime) -> SteeringDecision:
    """The desired switch position from the stored verdicts of Tier0's line."""
    line = tier0_line(session, LINE_LENGTH)
    return desired_switch(line, active_resumes(session, [entry.run for entry in line]), policy, now)


def plan(store: Store, policy: Policy, now: datetime, dry_run: bool = False,
         reading_lag: timedelta = timedelta(0)) -> OutboxEntry | None:
    """Decide the switch; enqueue an action if SpyAgency has not asked for it yet. Returns the new entry.

    ``reading_lag`` is how old a reading of the switch may be (the data service caches its replies):
    no reading younger than SpyAgency's own write by less than that is taken for a person's change.
    """
    with store.session() as session:
        decision = decide_steering(session, policy, now)
        step = shared_switch_step(decision, switch_picture(session), policy.sources.clock_tolerance + reading_lag)
        if step.stand_down:
            cancelled = cancel_pending(session, now, f"cancelled: {step.note}")
            if cancelled:
                log.warning("cancelled %d pending steering action(s): %s", cancelled, step.note)  # pragma: no mutate
        if step.action is None:
            return None
        if dry_run:
            log.warning("dry run: would %s prompt-reco releases: %s", step.action, step.note)  # pragma: no mutate
            return None
        # globally unique: a rebuilt or restored store never repeats a key Tier0 has seen
        key = f"spyagency-{uuid.uuid4().hex}-{step.action}-{decision.run or 0}"
        entry = add_entry(session, key=key, action=step.action, run=decision.run, reason=step.note, now=now)
    log.info("enqueued %s (%s): %s", entry.action, entry.idempotency_key, entry.reason)  # pragma: no mutate
    return entry


def standing_by(store: Store, policy: Policy, now: datetime) -> SteeringDecision | None:
    """The pause SpyAgency holds back because someone else's pause is in force, if there is one.

    Tier0's feeder locks every run past its lock within one poll (30 s) of that pause's end, so
    whoever runs steering watches the switch closely meanwhile (``Agency.watch_for_release``).
    """
    with store.session() as session:
        decision = decide_steering(session, policy, now)
        step = shared_switch_step(decision, switch_picture(session), policy.sources.clock_tolerance)
    return decision if step.stand_by else None


@dataclass(frozen=True)
class SteerResult:
    """One steering pass: how many actions reached Tier0, and what could not be delivered (and why)."""

    delivered: int
    failures: tuple[str, ...]

    @property
    def failed(self) -> bool:
        return bool(self.failures)


def deliver(store: Store, send: Send, now: datetime) -> SteerResult:
    """Send every pending action in order; each is marked sent only after Tier0's switch took it.

    An action refused because someone else holds the switch is cancelled, and that fact recorded,
    so SpyAgency stands down instead of trying again. Any other failure stays pending, is retried
    next pass, and is reported as a failure.
    """
    def send_or_note_takeover(entry: OutboxEntry) -> None:
        try:
            send(entry)
        except SwitchTakenOver as exc:
            with store.session() as session:
                record_refusal(session, exc.enabled, now)
            raise

    delivered = deliver_pending(store, pending_actions(store), send_or_note_takeover, now)
    failures = tuple(f"{entry.action} (run {entry.run}) could not be delivered: {entry.last_error.splitlines()[0]}"
                     for entry in pending_actions(store) if entry.last_error)
    return SteerResult(delivered, failures)


def remember_change_time(store: Store, entry: OutboxEntry, moment: datetime) -> None:
    """Store the change_time about to be written for ``entry`` (committed before the switch row is)."""
    with store.session() as session:
        record_change_time(session, entry.id, moment)


def own_switch_writes(store: Store) -> set[tuple[int, datetime]]:
    """Every (status, change_time) SpyAgency wrote, or was about to write, to Tier0's switch."""
    with store.session() as session:
        return switch_writes(session, STEERING_ACTIONS, PAUSE)


def observe_switch(store: Store, control: SqlControl, now: datetime) -> bool | None:
    """Read Tier0's switch from its table (not the cached data service) and record what it says, and whose
    row it is: SpyAgency's own exactly when its (status, change_time) is one SpyAgency recorded writing."""
    newest = control.newest()
    statuses = {row.releasing for row in newest}
    enabled = statuses.pop() if len(statuses) == 1 else None
    with store.session() as session:
        own = switch_writes(session, STEERING_ACTIONS, PAUSE)
        ours = len(newest) == 1 and (newest[0].status, newest[0].change_time.replace(tzinfo=UTC)) in {
            (s, t.astimezone(UTC)) for s, t in own}
        fcsr = tier0_global(session).first_conditions_safe_run
        reading = Tier0Global(fcsr, enabled, now)
        record_switch_reading(session, reading)
        record_switch(session, reading, ours=ours)
    return enabled


def pending_actions(store: Store) -> list[OutboxEntry]:
    """Actions committed but not yet accepted by Tier0, oldest first."""
    with store.session() as session:
        return pending_entries(session, STEERING_ACTIONS)


@dataclass(frozen=True)
class SteeringStatus:
    """What SpyAgency wants of the switch, what it last asked, what waits, and what Tier0 last showed."""

    desired: SteeringDecision
    last_requested: str | None
    pending: list[OutboxEntry]
    promptreco_enabled: bool | None
    switch_note: str  # who holds the switch, when it is not SpyAgency's to move
    changed_by_others_at: datetime | None
    picture: SwitchPicture  # what SpyAgency knows of the switch and of its own latest request
    line: list[LineRun]  # Tier0's line as the decision read it
    overrides: dict[int, ResumeOverride]  # operators' standing resumes in that line


def steering_status(session: Session, policy: Policy, now: datetime) -> SteeringStatus:
    """The steering picture for operators (read-only)."""
    line = tier0_line(session, LINE_LENGTH)
    overrides = active_resumes(session, [entry.run for entry in line])
    desired = desired_switch(line, overrides, policy, now)
    picture = switch_picture(session)
    step = shared_switch_step(desired, picture, policy.sources.clock_tolerance)
    last = picture.last_action.action if picture.last_action else None
    return SteeringStatus(desired, last, pending_entries(session, STEERING_ACTIONS), picture.observed_enabled,
                          step.note, step.taken_over_at, picture, line, overrides)
