"""Settings of the warnings to AlCa experts: e-mail if notify_email_to is set, else the webhook, else the log."""

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
    smtp_host: str = Field("localhost", description="SMTP relay of the embedded loop (Airflow: its smtp connection)")
    smtp_port: int = 25

    def notify_recipients(self) -> list[str]:
        """The AlCa experts' addresses from ``notify_email_to``."""
        return [a.strip() for a in (self.notify_email_to or "").split(",") if a.strip()]
