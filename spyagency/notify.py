"""Warning AlCa experts when a run nears its lock with a workflow still missing.

Warnings go through the outbox like steering actions: planned once per run
(the idempotency key ``notify-<run>``), then handed to a sender (webhook, e-mail
or the log). Each is marked sent in its own transaction right after its sender
returned, so a failure keeps the rest pending and never repeats those already out.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage

import httpx
from sqlalchemy import select

from .models import RunState
from .outbox import Send, deliver_pending
from .policy import Policy
from .store import Store
from .store.tables import OutboxRow, TrackedRun, WorkflowStateRow

log = logging.getLogger(__name__)
NOTIFY = "notify"

#: Delivers one warning or raises.
Notify = Send


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


def pending_notifications(store: Store) -> list[OutboxRow]:
    """Warnings planned but not yet delivered, oldest first."""
    with store.session() as session:
        return list(session.scalars(select(OutboxRow).where(OutboxRow.action == NOTIFY,
                                                            OutboxRow.sent_at.is_(None)).order_by(OutboxRow.id)))


def deliver_notifications(store: Store, send: Notify, now: datetime) -> int:
    """Hand pending warnings to ``send`` in order; stop at the first failure (it is retried next time)."""
    return deliver_pending(store, pending_notifications(store), send, now)


def subject(row: OutboxRow) -> str:
    """The one-line summary of a warning."""
    return f"[SpyAgency] run {row.run}: conditions missing near its prompt-reco lock"


def body(row: OutboxRow, dashboard_url: str | None) -> str:
    """The plain-text warning experts read."""
    link = f"\n\nRun page: {dashboard_url.rstrip('/')}/runs/{row.run}" if dashboard_url else ""
    return (f"{row.reason}.\n\nUpload the missing conditions, or acknowledge the workflow on the SpyAgency "
            f"dashboard, before the lock: otherwise prompt reconstruction of run {row.run} is paused.{link}\n")


def log_notifier(row: OutboxRow) -> None:
    """Warn in the log only (no webhook or e-mail configured)."""
    log.warning("AlCa warning (no webhook or e-mail configured): %s", row.reason)


def webhook_notifier(url: str, timeout_s: float = 10.0) -> Notify:
    """POST each warning as JSON (Mattermost/Slack-style ``text``) with its idempotency key."""
    def send(row: OutboxRow) -> None:
        httpx.post(url, json={"text": f"{subject(row)}\n{row.reason}", "run": row.run},
                   headers={"Idempotency-Key": row.idempotency_key}, timeout=timeout_s).raise_for_status()
    return send


def email_message(row: OutboxRow, sender: str, recipients: Sequence[str], dashboard_url: str | None) -> EmailMessage:
    """The e-mail for one warning; its Message-ID carries the idempotency key."""
    message = EmailMessage()
    message["Subject"] = subject(row)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Message-ID"] = f"<{row.idempotency_key}@spyagency>"
    message.set_content(body(row, dashboard_url))
    return message


def smtp_notifier(host: str, port: int, sender: str, recipients: Sequence[str],
                  dashboard_url: str | None = None, timeout_s: float = 30.0) -> Notify:
    """E-mail each warning through a plain SMTP relay (the embedded loop; Airflow uses its SMTP provider)."""
    def send(row: OutboxRow) -> None:
        with smtplib.SMTP(host, port, timeout=timeout_s) as smtp:
            smtp.send_message(email_message(row, sender, recipients, dashboard_url))
    return send
