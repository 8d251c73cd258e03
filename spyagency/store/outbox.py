"""The outbox table: steering actions and warnings, each written once with its decision, sent at most once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from spyagency.core.models import OutboxEntry
from spyagency.redact import mask_credentials
from spyagency.store.tables import OutboxRow


def as_entry(row: OutboxRow) -> OutboxEntry:
    """The domain view of an outbox row."""
    return OutboxEntry(row.id, row.idempotency_key, row.action, row.run, row.reason, row.created_at,
                       row.sent_at, row.cancelled_at, row.attempts or 0, row.last_error,
                       dict(row.detail) if row.detail is not None else None)


def add_entry(session: Session, *, key: str, action: str, run: int | None, reason: str, now: datetime,
              detail: dict[str, Any] | None = None) -> OutboxEntry:
    """Write a new entry in the caller's transaction (with the decision that caused it)."""
    row = OutboxRow(idempotency_key=key, action=action, run=run, reason=reason, created_at=now, detail=detail,
                    attempts=0)
    session.add(row)
    session.flush()
    return as_entry(row)


def pending_entries(session: Session, actions: Sequence[str]) -> list[OutboxEntry]:
    """Entries of ``actions`` neither sent nor cancelled, oldest first."""
    return [as_entry(row) for row in session.scalars(select(OutboxRow).where(
        OutboxRow.sent_at.is_(None), OutboxRow.cancelled_at.is_(None),
        OutboxRow.action.in_(actions)).order_by(OutboxRow.id))]


def latest_entries(session: Session, runs: Sequence[int], actions: Sequence[str]) -> dict[int, OutboxEntry]:
    """The newest entry of ``actions`` for each of ``runs`` that has one."""
    latest: dict[int, OutboxEntry] = {}
    if runs:
        for row in session.scalars(select(OutboxRow).where(
                OutboxRow.action.in_(actions), OutboxRow.run.in_(runs)).order_by(OutboxRow.id)):
            assert row.run is not None
            latest[row.run] = as_entry(row)
    return latest


def entry_exists(session: Session, key: str) -> bool:
    """Whether an entry with idempotency key ``key`` was ever written (sent, pending or cancelled)."""
    return session.scalar(select(OutboxRow.id).where(OutboxRow.idempotency_key == key)) is not None


def count_entries(session: Session, run: int, action: str) -> int:
    """How many entries of ``action`` were ever written for ``run``."""
    return int(session.scalar(select(func.count(OutboxRow.id)).where(
        OutboxRow.run == run, OutboxRow.action == action)) or 0)


def rewrite_pending(session: Session, entry_id: int, reason: str, detail: dict[str, Any] | None) -> None:
    """Rewrite what a pending entry says (only while it has not gone out)."""
    row = session.get(OutboxRow, entry_id)
    if row is not None and row.sent_at is None and row.cancelled_at is None:
        row.reason, row.detail = reason, detail


def count_attempt(session: Session, entry_id: int) -> None:
    """Count an attempt before it is made."""
    row = _row(session, entry_id)
    row.attempts = (row.attempts or 0) + 1


def mark_sent(session: Session, entry_id: int, now: datetime) -> None:
    """The sender returned: the entry is out and is never sent again."""
    row = _row(session, entry_id)
    row.sent_at = now
    row.last_error = None


def mark_failed(session: Session, entry_id: int, error: str) -> None:
    """The sender failed: the entry stays pending and says why."""
    _row(session, entry_id).last_error = mask_credentials(error)


def mark_cancelled(session: Session, entry_id: int, now: datetime, why: str) -> None:
    """The entry must never go out, for the reason given."""
    row = _row(session, entry_id)
    row.cancelled_at = now
    row.last_error = mask_credentials(why)


def cancel_pending(session: Session, actions: Sequence[str], now: datetime, why: str) -> int:
    """Cancel every pending entry of ``actions``; return how many."""
    pending = pending_entries(session, actions)
    for entry in pending:
        mark_cancelled(session, entry.id, now, why)
    return len(pending)


def _row(session: Session, entry_id: int) -> OutboxRow:
    row = session.get(OutboxRow, entry_id)
    if row is None:
        raise LookupError(f"outbox entry {entry_id} is not in the store")
    return row


def record_change_time(session: Session, entry_id: int, moment: datetime) -> None:
    """Remember the exact ``change_time`` about to be written to Tier0's switch for this entry."""
    row = _row(session, entry_id)
    detail = dict(row.detail or {})
    detail["change_times"] = [*detail.get("change_times", []), moment.isoformat()]
    row.detail = detail


def switch_writes(session: Session, actions: Sequence[str], pause: str) -> set[tuple[int, datetime]]:
    """Every (status, change_time) written, or about to be written, to Tier0's switch by SpyAgency."""
    written: set[tuple[int, datetime]] = set()
    for row in session.scalars(select(OutboxRow).where(OutboxRow.action.in_(actions), OutboxRow.detail.is_not(None))):
        status = 0 if row.action == pause else 1
        for value in (row.detail or {}).get("change_times", []):
            written.add((status, datetime.fromisoformat(str(value))))
    return written
