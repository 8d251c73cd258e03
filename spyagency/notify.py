"""Warning AlCa experts when a run nears its lock with a workflow still missing.

Warnings go through the outbox like steering actions: planned once per run
(the idempotency key ``notify-<run>``), delivered to a webhook, never twice.
"""

from __future__ import annotations

import logging
from datetime import datetime

import httpx
from sqlalchemy import select

from .models import RunState
from .policy import Policy
from .store import Store
from .store.tables import OutboxRow, TrackedRun, WorkflowStateRow

log = logging.getLogger(__name__)
NOTIFY = "notify"


def plan_notifications(store: Store, policy: Policy, now: datetime) -> int:
    """Enqueue one warning per run that is not ready within ``notify_before_lock`` of its lock."""
    planned = 0
    with store.session() as session:
        runs = session.scalars(select(TrackedRun).where(
            TrackedRun.finalized.is_(False), TrackedRun.state == RunState.NOT_READY.value,
            TrackedRun.lock_time.is_not(None))).all()
        for run in runs:
            assert run.lock_time is not None
            if now < run.lock_time - policy.deadlines.notify_before_lock:
                continue
            key = f"notify-{run.run}"
            if session.scalar(select(OutboxRow.id).where(OutboxRow.idempotency_key == key)) is not None:
                continue
            missing = session.scalars(select(WorkflowStateRow.workflow).where(
                WorkflowStateRow.run == run.run, WorkflowStateRow.done.is_(False))).all()
            reason = (f"run {run.run} locks at {run.lock_time:%Y-%m-%d %H:%M} UTC and still lacks: "
                      f"{', '.join(missing) or 'see dashboard'}")
            session.add(OutboxRow(idempotency_key=key, action=NOTIFY, run=run.run, reason=reason, created_at=now))
            planned += 1
    return planned


def deliver_notifications(store: Store, webhook: str | None, now: datetime) -> int:
    """POST pending warnings to ``webhook`` (or log them when none is configured)."""
    with store.session() as session:
        pending = session.scalars(select(OutboxRow).where(OutboxRow.action == NOTIFY,
                                                          OutboxRow.sent_at.is_(None))).all()
        for row in pending:
            if webhook:
                httpx.post(webhook, json={"text": row.reason, "run": row.run},
                           headers={"Idempotency-Key": row.idempotency_key}, timeout=10).raise_for_status()
            else:
                log.warning("AlCa warning (no SPYAGENCY_NOTIFY_WEBHOOK set): %s", row.reason)
            row.sent_at = now
            row.attempts += 1
    return len(pending)
