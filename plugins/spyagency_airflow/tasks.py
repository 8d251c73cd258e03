"""The callables behind the DAG tasks: one core call each, returning a small JSON summary."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from spyagency import steering
from spyagency.decisions import decide_all
from spyagency.notify import deliver_notifications, pending_notifications, plan_notifications
from spyagency.polling import poll_conddb, poll_dqm, poll_tier0

from .mail import smtp_provider_notifier
from .hooks import SpyAgencyHook


class SourcePollFailed(RuntimeError):
    """Raised so Airflow retries; the failure is already recorded in the store."""


def poll(source: str) -> dict[str, Any]:
    """Poll one source into the store; raise (for a retry) if it failed."""
    agency = SpyAgencyHook().agency()
    try:
        now = agency.clock.now()
        if source == "tier0":
            result = poll_tier0(agency.store, agency.tier0, agency.policy, now)
        elif source == "conddb":
            result = poll_conddb(agency.store, agency.conddb, agency.policy, now,
                                 timedelta(hours=agency.settings.lookback_hours))
        elif source == "dqm":
            result = poll_dqm(agency.store, agency.dqm, agency.policy, now)
        else:
            raise ValueError(f"unknown source {source!r}")
    finally:
        agency.close()
    if not result.ok:
        raise SourcePollFailed(result.error)
    return {"source": source, "changes": result.changes, "duration_s": round(result.duration_s, 3)}


def decide() -> dict[str, Any]:
    """Decide every active run; return how many changed."""
    agency = SpyAgencyHook().agency()
    try:
        result = decide_all(agency.store, agency.policy, agency.clock.now())
    finally:
        agency.close()
    return {"decided": len(result.verdicts), "changed": [v.run for v in result.changed]}


def notify() -> dict[str, Any]:
    """Warn AlCa experts about runs nearing their lock with a workflow missing (once per run).

    E-mail goes through Airflow's SMTP provider when ``SPYAGENCY_NOTIFY_EMAIL_TO`` is set; otherwise
    the webhook, otherwise the log. A failed delivery raises, so Airflow retries it.
    """
    agency = SpyAgencyHook().agency()
    settings = agency.settings
    try:
        now = agency.clock.now()
        planned = plan_notifications(agency.store, agency.policy, now)
        recipients = settings.notify_recipients()
        send = (smtp_provider_notifier(settings.notify_email_from, recipients, settings.dashboard_url)
                if recipients else agency.notifier())
        sent = deliver_notifications(agency.store, send, now)
        pending = len(pending_notifications(agency.store))
    finally:
        agency.close()
    if pending:
        raise RuntimeError(f"{pending} warning(s) could not be delivered; will retry")
    return {"planned": planned, "sent": sent}


def steer() -> dict[str, Any]:
    """Plan the promptreco_status switch and deliver pending actions to Tier0."""
    agency = SpyAgencyHook().agency()
    try:
        sent = agency.steer_once()
        pending = len(steering.pending_actions(agency.store))
    finally:
        agency.close()
    if pending:
        raise RuntimeError(f"{pending} steering action(s) still pending; will retry")
    return {"sent": sent}
