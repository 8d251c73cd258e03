"""Settings of the warnings to AlCa experts (e-mail if notify_email_to is set, else the webhook, else the log),
and of the operators' own messages (operator_email_to, else operator_webhook, else the log)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from spyagency.settings.base import CONFIG


class WarningSettings(BaseSettings):
    """Who is warned, and through what."""

    model_config = CONFIG

    notify_webhook: str | None = None
    notify_email_to: str | None = Field(None, description="comma-separated addresses of AlCa experts")
    notify_email_from: str = "spyagency@cern.ch"
    operator_email_to: str | None = Field(
        None, description="comma-separated addresses of the operators (grid certificate expiry), not the experts")
    operator_webhook: str | None = Field(None, description="the operators' webhook, when they have no e-mail set")
    smtp_host: str = Field("localhost", description="SMTP relay of the embedded loop (Airflow: its smtp connection)")
    smtp_port: int = 25

    def notify_recipients(self) -> list[str]:
        """The AlCa experts' addresses from ``notify_email_to``."""
        return [a.strip() for a in (self.notify_email_to or "").split(",") if a.strip()]

    def operator_recipients(self) -> list[str]:
        """The operators' addresses from ``operator_email_to``."""
        return [a.strip() for a in (self.operator_email_to or "").split(",") if a.strip()]
