"""The callables behind the DAG tasks: one core call each, returning a small JSON summary."""

from __future__ import annotations

from typing import Any

from spyagency.core.models import Source
from spyagency.passes.operator_warnings import pending_operator_messages
from spyagency.passes.warn import pending_notifications
from spyagency_airflow.hooks import SpyAgencyHook
from spyagency_airflow.mail import smtp_provider_notifier


class SourcePollFailed(RuntimeError):
    """Raised so Airflow retries; the failure is already recorded in the store."""


def poll(source: str) -> dict[str, Any]:
    """Poll one source into the store; raise (for a retry) if it failed."""
    with SpyAgencyHook().agency() as agency:
        result = agency.poll(Source(source))
    if result is None:
        return {"source": source, "skipped": "another process is polling this source"}
    if not result.ok:
        raise SourcePollFailed(result.error)
    return {"source": source, "changes": result.changes, "duration_s": round(result.duration_s, 3),
            "run_faults": list(result.run_faults)}


def decide() -> dict[str, Any]:
    """Decide every active run; return how many changed."""
    with SpyAgencyHook().agency() as agency:
        result = agency.decide()
    if result is None:
        return {"skipped": "another process is deciding"}
    return {"decided": len(result.verdicts), "changed": [v.run for v in result.changed]}


def notify() -> dict[str, Any]:
    """Warn AlCa experts about runs nearing their lock with a workflow missing (once per run), and the
    operators (``SPYAGENCY_OPERATOR_EMAIL_TO``) about a grid certificate about to expire.

    E-mail goes through Airflow's SMTP provider when ``SPYAGENCY_NOTIFY_EMAIL_TO`` is set; otherwise
    the webhook, otherwise the log. A failed delivery raises, so Airflow retries it.
    """
    with SpyAgencyHook().agency() as agency:
        settings = agency.settings
        recipients, operators = settings.notify_recipients(), settings.operator_recipients()
        send = (smtp_provider_notifier(settings.notify_email_from, recipients, settings.dashboard_url)
                if recipients else agency.notifier())
        send_operators = (smtp_provider_notifier(settings.notify_email_from, operators, settings.dashboard_url)
                          if operators else agency.operator_notifier())
        sent = agency.warn(send, send_operators)
        pending = len(pending_notifications(agency.store)) + len(pending_operator_messages(agency.store))
    if pending:
        raise RuntimeError(f"{pending} warning(s) could not be delivered; will retry")
    return {"sent": sent}


#: How long a steer task watches the switch while someone else's pause holds back a run SpyAgency would pause
#: for: most of the minute until the next steer run (the DAG runs one at a time).
WATCH_FOR_RELEASE_S = 50.0


def steer() -> dict[str, Any]:
    """Plan the promptreco_status switch and deliver pending actions to Tier0; while someone else's pause holds
    back a run SpyAgency would pause for, watch for its end and pause at once."""
    with SpyAgencyHook().agency() as agency:
        result = agency.steer()
        mode = agency.settings.steering
        watched = None if result.failed else agency.watch_for_release(WATCH_FOR_RELEASE_S)
    failures = result.failures + (watched.failures if watched else ())
    if failures:  # a failure to act is a failed task, never a green one
        raise SteeringFailed("; ".join(failures))
    return {"sent": result.delivered + (watched.delivered if watched else 0), "mode": mode}


class SteeringFailed(Exception):
    """SpyAgency wants the switch moved and could not move it (the task fails and is retried)."""


def signoff_requests() -> list[dict[str, Any]]:
    """One trigger per open question to the experts; the run id names it, so each is asked once."""
    from spyagency.people.signoff import signoff_requests as requests

    with SpyAgencyHook().agency() as agency:
        found = requests(agency.store, agency.policy, agency.clock.now())
    return [{"trigger_run_id": f"signoff__{request.key}", "conf": request.as_json()} for request in found]


def record_signoff(conf: dict[str, Any], choice: str, author: str, comment: str) -> dict[str, Any]:
    """Record an expert's answer from Airflow as acknowledgements, exactly as the API would."""
    from spyagency.people.signoff import SignOffRequest
    from spyagency.people.signoff import record_signoff as record

    with SpyAgencyHook().agency() as agency:
        result = record(agency.store, agency.policy, SignOffRequest.from_json(conf), choice, author, comment,
                        agency.clock.now())
    return {"recorded": list(result.recorded), "skipped_changed_since_asked": list(result.skipped)}
