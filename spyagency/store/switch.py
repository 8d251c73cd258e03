"""Tier0's release switch as SpyAgency shares it with people: who changed it, and when.

``promptreco_status`` belongs to the Offline Run Manager; SpyAgency is one of its users.
Each change SpyAgency observes is recorded, and explained as SpyAgency's own when its
latest delivered action asked for exactly that position and has not explained an earlier
change. Anything else is someone else's doing, which SpyAgency never undoes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from spyagency.core.models import (
    STEERING_ACTIONS,
    OutboxAction,
    SteeringAction,
    SwitchChange,
    SwitchPicture,
    Tier0Global,
)
from spyagency.store import outbox
from spyagency.store.tables import OutboxRow, SwitchObservationRow, Tier0GlobalRow

PAUSE = OutboxAction.PAUSE.value
RESUME = OutboxAction.RESUME.value


def _last_sent(session: Session) -> OutboxRow | None:
    return session.scalars(select(OutboxRow).where(
        OutboxRow.action.in_(STEERING_ACTIONS), OutboxRow.sent_at.is_not(None))
        .order_by(OutboxRow.id.desc()).limit(1)).first()


def record_switch(session: Session, observed: Tier0Global, ours: bool | None = None) -> SwitchChange | None:
    """Record the switch position seen by a reading if it changed; say who changed it (``ours``: known from
    the switch table itself; else inferred from SpyAgency's latest delivered action)."""
    if observed.promptreco_enabled is None or observed.observed_at is None:
        return None
    latest = session.scalars(select(SwitchObservationRow).order_by(SwitchObservationRow.id.desc())
                             .limit(1)).first()
    if latest is not None and latest.enabled == observed.promptreco_enabled:
        return None
    if ours is not None:
        action = _latest_steering(session, RESUME if observed.promptreco_enabled else PAUSE) if ours else None
    else:
        action = _last_sent(session)
        explained = session.scalar(select(SwitchObservationRow.id).where(
            SwitchObservationRow.outbox_id == action.id)) if action is not None else None
        ours = (action is not None and explained is None
                and (action.action == RESUME) == observed.promptreco_enabled
                and (latest is None or action.sent_at is None or action.sent_at >= latest.observed_at))
    session.add(SwitchObservationRow(enabled=observed.promptreco_enabled, observed_at=observed.observed_at,
                                     by_spyagency=ours, outbox_id=action.id if ours and action else None,
                                     seen_by="poll"))
    return SwitchChange(observed.promptreco_enabled, observed.observed_at, ours)


def _latest_steering(session: Session, action: str) -> OutboxRow | None:
    return session.scalars(select(OutboxRow).where(OutboxRow.action == action)
                           .order_by(OutboxRow.id.desc()).limit(1)).first()


def switch_picture(session: Session) -> SwitchPicture:
    """The latest observed change of the switch and SpyAgency's latest standing request."""
    row = session.scalars(select(SwitchObservationRow).order_by(SwitchObservationRow.id.desc()).limit(1)).first()
    change = SwitchChange(row.enabled, row.observed_at, row.by_spyagency, row.seen_by) if row else None
    action = session.scalars(select(OutboxRow).where(
        OutboxRow.action.in_(STEERING_ACTIONS), OutboxRow.cancelled_at.is_(None))
        .order_by(OutboxRow.id.desc()).limit(1)).first()
    last = (SteeringAction(action.id, action.action, action.run, action.reason, action.created_at, action.sent_at,
                           action.last_error) if action else None)
    seen = action is not None and session.scalar(select(SwitchObservationRow.id).where(
        SwitchObservationRow.outbox_id == action.id).limit(1)) is not None
    tier0 = session.get(Tier0GlobalRow, 1)
    return SwitchPicture(change, last, seen, tier0.promptreco_enabled if tier0 else None,
                         tier0.observed_at if tier0 else None)


def record_refusal(session: Session, enabled: bool, now: datetime) -> None:
    """Tier0 refused SpyAgency's write because someone else set the switch to ``enabled``."""
    session.add(SwitchObservationRow(enabled=enabled, observed_at=now, by_spyagency=False, outbox_id=None,
                                     seen_by="control"))


def cancel_pending(session: Session, now: datetime, why: str) -> int:
    """Cancel steering actions not yet sent; return how many."""
    return outbox.cancel_pending(session, STEERING_ACTIONS, now, why)


def switch_change_at(session: Session, at: datetime) -> SwitchChange | None:
    """The latest change of the switch SpyAgency had seen by ``at``."""
    row = session.scalars(select(SwitchObservationRow).where(SwitchObservationRow.observed_at <= at)
                          .order_by(SwitchObservationRow.observed_at.desc(), SwitchObservationRow.id.desc())
                          .limit(1)).first()
    return SwitchChange(row.enabled, row.observed_at, row.by_spyagency, row.seen_by) if row else None
