"""Warning AlCa experts when a run nears its lock with a workflow still missing.

Warnings go through the outbox like steering actions: planned once per run
(the idempotency key ``notify-<run>``), then handed to a sender (webhook, e-mail
or the log). Each is marked sent in its own transaction right after its sender
returned, so a failure keeps the rest pending and never repeats those already out.

A warning rests on a complete picture only: no run is warned about while a healthy
source has not looked at it yet. A warning says what blocks the run when it goes out
(a pending one is rewritten until then), and once it is out, every later change of
what blocks the run (a payload arrived, an expert acknowledged) is reported once as a
follow-up, so that no wrong warning is left standing.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.message import EmailMessage

import httpx

from spyagency.core.models import WARNING_ACTIONS, OutboxAction, OutboxEntry, RunState
from spyagency.passes.outbox import Send, deliver_pending
from spyagency.policy import Policy
from spyagency.store import Session, Store
from spyagency.store import outbox as entries
from spyagency.store.forecasts import forecasts_for
from spyagency.store.queries import UnlockedRun, blocking_workflows, unlocked_runs_with_lock, workflow_states

log = logging.getLogger(__name__)
NOTIFY = OutboxAction.NOTIFY.value
FOLLOW_UP = OutboxAction.FOLLOW_UP.value
AT_RISK = OutboxAction.AT_RISK.value

#: Delivers one warning or raises.
Notify = Send


def plan_notifications(store: Store, policy: Policy, now: datetime) -> int:
    """Plan one warning per run not ready within ``notify_before_lock`` of its lock, then one follow-up
    per later change of what blocks it; return how many were planned."""
    planned = 0
    with store.session() as session:
        runs = unlocked_runs_with_lock(session)
        latest = entries.latest_entries(session, [r.run for r in runs], (NOTIFY, FOLLOW_UP))
        for run in runs:
            if run.awaiting:
                continue  # a provisional verdict: a source has not looked at the run yet
            blocking = _blocking(session, run.run)
            last = latest.get(run.run)
            if last is None:
                if run.state != RunState.NOT_READY.value or now < run.lock_time - policy.deadlines.notify_before_lock:
                    continue
                entries.add_entry(session, key=f"notify-{run.run}", action=NOTIFY, run=run.run,
                                  reason=_warning(run, blocking), now=now, detail={"blocking": blocking})
                planned += 1
            elif last.sent_at is None and last.cancelled_at is None:
                # not out yet (the relay failed): say what blocks the run when it does go out
                if last.action == NOTIFY:
                    entries.rewrite_pending(session, last.id, _warning(run, blocking), {"blocking": blocking})
            elif (last.detail or {}).get("blocking") != blocking:
                number = entries.count_entries(session, run.run, FOLLOW_UP) + 1
                reported = _reported(last)
                entries.add_entry(session, key=f"notify-{run.run}-update-{number}", action=FOLLOW_UP,
                                  run=run.run, reason=_follow_up(session, run, reported, blocking), now=now,
                                  detail={"blocking": blocking})
                planned += 1
        planned += _plan_at_risk(session, policy, [r for r in runs if not r.awaiting], now)
    return planned


def _plan_at_risk(session: Session, policy: Policy, runs: list[UnlockedRun], now: datetime) -> int:
    """One warning per run, as soon as a calibration of it is forecast to land after its PCL give-up or lock."""
    planned = 0
    for run, forecasts in forecasts_for(session, policy, [r.run for r in runs], now).items():
        risky = [guess for guess in forecasts if guess.at_risk]
        if not risky or entries.count_entries(session, run, AT_RISK):
            continue
        said = "; ".join(f"{guess.workflow}: {guess.reason}" for guess in risky)
        entries.add_entry(session, key=f"at-risk-{run}", action=AT_RISK, run=run, now=now,
                          reason=f"run {run} is at risk: {said}",
                          detail={"workflows": [guess.workflow for guess in risky]})
        planned += 1
    return planned


def _reported(last: OutboxEntry) -> dict[str, str]:
    """Workflow → state that the last message about a run reported as blocking."""
    blocking = (last.detail or {}).get("blocking") or {}
    return {str(k): str(v) for k, v in blocking.items()} if isinstance(blocking, dict) else {}


def _blocking(session: Session, run: int) -> dict[str, str]:
    """Workflow → state of the workflows that keep ``run`` from being ready."""
    return {w.workflow: w.state for w in blocking_workflows(session, run)}


def _listed(blocking: Mapping[str, str]) -> str:
    return ", ".join(f"{workflow} ({state})" for workflow, state in blocking.items())


def _warning(run: UnlockedRun, blocking: Mapping[str, str]) -> str:
    return (f"run {run.run} locks at {run.lock_time:%Y-%m-%d %H:%M} UTC and still lacks: "
            f"{_listed(blocking) or 'see dashboard'}")


def _follow_up(session: Session, run: UnlockedRun, reported: Mapping[str, str], blocking: Mapping[str, str]) -> str:
    """What changed since the last message about ``run``, and what blocks it now."""
    now_states = {name: (w.state, w.reason) for name, w in workflow_states(session, run.run).items()}
    changes = []
    for workflow in sorted(set(reported) | set(blocking)):
        before, after = reported.get(workflow), blocking.get(workflow)
        if before == after:
            continue
        state, reason = now_states.get(workflow, ("unknown", ""))
        if after is None:
            changes.append(f"{workflow} no longer blocks ({state}: {reason})")
        elif before is None:
            changes.append(f"{workflow} now blocks ({after}: {reason})")
        else:
            changes.append(f"{workflow} went from {before} to {after} ({reason})")
    still = f"still lacking: {_listed(blocking)}" if blocking else "nothing blocks it any more"
    return f"update on run {run.run}: {'; '.join(changes)}; {still}"


def pending_notifications(store: Store) -> list[OutboxEntry]:
    """Warnings and follow-ups planned but not yet delivered, oldest first."""
    with store.session() as session:
        return entries.pending_entries(session, WARNING_ACTIONS)


def deliver_notifications(store: Store, send: Notify, now: datetime) -> int:
    """Hand pending warnings to ``send`` in order; stop at the first failure (it is retried next time)."""
    return deliver_pending(store, pending_notifications(store), send, now)


def subject(row: OutboxEntry) -> str:
    """The one-line summary of a warning or follow-up."""
    if row.action == OutboxAction.CERTIFICATE.value:
        return "[SpyAgency] the grid certificate shown to Tier0 and DQM expires soon"
    if row.action == AT_RISK:
        return f"[SpyAgency] run {row.run}: a calibration is forecast to land too late"
    if row.action == FOLLOW_UP:
        return f"[SpyAgency] run {row.run}: update on the conditions missing near its prompt-reco lock"
    return f"[SpyAgency] run {row.run}: conditions missing near its prompt-reco lock"


def body(row: OutboxEntry, dashboard_url: str | None) -> str:
    """The plain-text warning or follow-up experts read."""
    if row.action == OutboxAction.CERTIFICATE.value:
        return (f"{row.reason}.\n\nWhen it expires, SpyAgency can no longer read Tier0 or the DQM GUI: every run "
                f"stays not ready, and runs near their lock are paused. Check with `spyagency check`.\n")
    # straight to the run page's acknowledgement panel: where an expert answers a warning
    link = f"\n\nAcknowledge or hold: {dashboard_url.rstrip('/')}/runs/{row.run}#ack" if dashboard_url else ""
    if row.action in (FOLLOW_UP, AT_RISK):
        return f"{row.reason[0].upper()}{row.reason[1:]}.{link}\n"
    return (f"{row.reason}.\n\nUpload the missing conditions, or acknowledge the workflow on the SpyAgency "
            f"dashboard, before the lock: otherwise prompt reconstruction of run {row.run} is paused.{link}\n")


def log_notifier(row: OutboxEntry) -> None:
    """Warn in the log only (no webhook or e-mail configured)."""
    who = "operators" if row.action == OutboxAction.CERTIFICATE.value else "AlCa"
    log.warning("%s warning (no webhook or e-mail configured): %s", who, row.reason)


def webhook_notifier(url: str, timeout_s: float = 10.0) -> Notify:
    """POST each warning as JSON (Mattermost/Slack-style ``text``) with its idempotency key."""
    def send(row: OutboxEntry) -> None:
        httpx.post(url, json={"text": f"{subject(row)}\n{row.reason}", "run": row.run},
                   headers={"Idempotency-Key": row.idempotency_key}, timeout=timeout_s).raise_for_status()
    return send


def email_message(row: OutboxEntry, sender: str, recipients: Sequence[str], dashboard_url: str | None) -> EmailMessage:
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
    def send(row: OutboxEntry) -> None:
        with smtplib.SMTP(host, port, timeout=timeout_s) as smtp:
            smtp.send_message(email_message(row, sender, recipients, dashboard_url))
    return send
