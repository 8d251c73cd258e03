"""Settings of SpyAgency's own store."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from spyagency.settings.base import CONFIG


class StoreSettings(BaseSettings):
    """Where SpyAgency keeps its state and how long it keeps its decision records."""

    model_config = CONFIG

    db_url: str = "sqlite:///var/spyagency.db"
    decision_retention_days: float = Field(365.0, gt=0, description="decision records older than this are pruned "
                                                                     "(a run's latest is always kept)")
