"""Act: steer Tier0's prompt-reco releases through the global ``promptreco_status`` switch.

Level-triggered. From the stored verdicts, the desired switch position is
computed; if it differs from what SpyAgency last asked for, an action is put in
the outbox in the same transaction. A sender then delivers pending actions with
their idempotency key and marks them sent. A crash after the commit loses
nothing (the action waits in the outbox); a crash after sending repeats nothing
(Tier0 ignores a key it has seen).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import RunState
from .outbox import Send, deliver_pending
from .overrides import active_resume
from .policy import Policy
from .store import Store
from .store.tables import OutboxRow, Tier0GlobalRow, TrackedRun

log = logging.getLogger(__name__)

PAUSE = "pause"
RESUME = "resume"


@dataclass(frozen=True)
class SteeringDecision:
    """What the switch should be, because of which run, and why."""

    action: str  # pause or resume
    run: int | None
    reason: str


def desired_switch(session: Session, policy: Policy, now: datetime) -> SteeringDecision:
    """Pause when the next run in Tier0's line is not ready and its lock time is near; else resume.

    An operator's override for that run resumes releases whatever its state.
    """
    row = session.scalars(select(TrackedRun).where(
        TrackedRun.finalized.is_(False), TrackedRun.decided_at.is_not(None),
        TrackedRun.state != RunState.RELEASED.value).order_by(TrackedRun.run).limit(1)).first()
    if row is None:
        return SteeringDecision(RESUME, None, "no run is waiting for release")
    if row.release:
        return SteeringDecision(RESUME, row.run, f"run {row.run} is ready")
    override = active_resume(session, row.run)
    if override is not None:
        return SteeringDecision(RESUME, row.run, f"run {row.run} is not ready, but operator {override.author} "
                                                 f"overrode at {override.created_at:%Y-%m-%d %H:%M} UTC: "
                                                 f"{override.comment}")
    if row.lock_time is None:
        return SteeringDecision(RESUME, row.run, f"run {row.run} has no lock time yet (still running)")
    pause_from = row.lock_time - policy.deadlines.pause_before_lock
    if now < pause_from:
        return SteeringDecision(RESUME, row.run,
                                f"run {row.run} is not ready but its lock is not near (pause from {pause_from:%Y-%m-%d %H:%M} UTC)")
    why = row.reasons[0] if row.reasons else "not ready"
    return SteeringDecision(PAUSE, row.run, f"run {row.run} is not ready {policy.deadlines.pause_before_lock_minutes:g} min "
                                            f"before its lock: {why}")


def last_requested(session: Session) -> str | None:
    """The latest action SpyAgency put in the outbox (sent or not)."""
    row = session.scalars(select(OutboxRow).where(OutboxRow.action.in_((PAUSE, RESUME)))
                          .order_by(OutboxRow.id.desc()).limit(1)).first()
    return row.action if row else None


def plan(store: Store, policy: Policy, now: datetime, dry_run: bool = False) -> OutboxRow | None:
    """Decide the switch; enqueue an action if it differs from the last request. Returns the new row."""
    with store.session() as session:
        decision = desired_switch(session, policy, now)
        previous = last_requested(session)
        # Releasing is Tier0's default; only a pause (and the resume that undoes it) needs saying.
        if decision.action == previous or (previous is None and decision.action == RESUME):
            return None
        if dry_run:
            log.warning("dry run: would %s prompt-reco releases: %s", decision.action, decision.reason)
            return None
        sequence = session.scalar(select(func.count()).select_from(OutboxRow)) or 0
        row = OutboxRow(idempotency_key=f"spyagency-{sequence + 1}-{decision.action}-{decision.run or 0}",
                        action=decision.action, run=decision.run, reason=decision.reason, created_at=now)
        session.add(row)
    log.info("enqueued %s (%s): %s", row.action, row.idempotency_key, row.reason)
    return row


def deliver(store: Store, send: Send, now: datetime, after_send: Send | None = None) -> int:
    """Send every pending action in order; each is marked sent only after Tier0 accepted it."""
    return deliver_pending(store, pending_actions(store), send, now, after_send)


def _pending(session: Session) -> list[OutboxRow]:
    return list(session.scalars(select(OutboxRow).where(
        OutboxRow.sent_at.is_(None), OutboxRow.action.in_((PAUSE, RESUME))).order_by(OutboxRow.id)))


def pending_actions(store: Store) -> list[OutboxRow]:
    """Actions committed but not yet accepted by Tier0, oldest first."""
    with store.session() as session:
        return _pending(session)


@dataclass(frozen=True)
class SteeringStatus:
    """What SpyAgency wants of the switch, what it last asked, what waits, and what Tier0 last showed."""

    desired: SteeringDecision
    last_requested: str | None
    pending: list[OutboxRow]
    promptreco_enabled: bool | None


def steering_status(session: Session, policy: Policy, now: datetime) -> SteeringStatus:
    """The steering picture for operators (read-only)."""
    tier0 = session.get(Tier0GlobalRow, 1)
    return SteeringStatus(desired_switch(session, policy, now), last_requested(session), _pending(session),
                          tier0.promptreco_enabled if tier0 else None)
