"""AlCa warnings by e-mail through Airflow's SMTP provider (the relay comes from an Airflow Connection)."""

from __future__ import annotations

import html
from collections.abc import Sequence

from airflow.providers.smtp.hooks.smtp import SmtpHook

from spyagency.core.models import OutboxEntry
from spyagency.passes.warn import Notify, body, subject

#: The SMTP relay; Airflow's own ``smtp_default`` is used when this connection is not defined.
SMTP_CONN_ID = "spyagency_smtp"


def _conn_id() -> str:
    try:
        SmtpHook.get_connection(SMTP_CONN_ID)
    except Exception:  # not defined
        return SmtpHook.default_conn_name
    return SMTP_CONN_ID


def smtp_provider_notifier(sender: str, recipients: Sequence[str], dashboard_url: str | None) -> Notify:
    """Send each warning as an e-mail with ``SmtpHook.send_email_smtp``."""
    conn_id = _conn_id()

    def send(row: OutboxEntry) -> None:
        with SmtpHook(smtp_conn_id=conn_id) as smtp:
            smtp.send_email_smtp(to=list(recipients), from_email=sender, subject=subject(row),
                                 html_content=f"<pre>{html.escape(body(row, dashboard_url))}</pre>",
                                 custom_headers={"X-SpyAgency-Key": row.idempotency_key})
    return send
