"""Settings of the sources watched: Tier0's data service, the CondDB, the DQM GUI, and how they are polled."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings

from spyagency.settings.base import CONFIG

#: Ports of `spyagency simulate`, so that the defaults below reach it.
SIM_TIER0_PORT = 8081
SIM_DQM_PORT = 8082


class SourceSettings(BaseSettings):
    """Where the sources are and how often they are read. Defaults point at `spyagency simulate`."""

    model_config = CONFIG

    tier0_url: str = f"http://127.0.0.1:{SIM_TIER0_PORT}/t0wmadatasvc/prod/"
    conddb_url: str = "sqlite:///var/sim/conddb.sqlite"
    conddb_schema: str | None = Field(None, description="e.g. CMS_CONDITIONS on Oracle")
    dqm_url: str = f"http://127.0.0.1:{SIM_DQM_PORT}/"
    dqm_api: Literal["jsonfairy", "v1"] = Field(
        "jsonfairy", description="the DQM GUI's JSON API: jsonfairy (legacy GUI) or v1 (new GUI, /api/v1/json)")
    poll_interval_s: float = Field(60.0, gt=0)
    #: per-source poll intervals of the Airflow DAGs; default ``poll_interval_s``
    poll_tier0_s: float | None = Field(None, gt=0)
    poll_conddb_s: float | None = Field(None, gt=0)
    poll_dqm_s: float | None = Field(None, gt=0)
    lookback_hours: float = Field(96.0, gt=0)
    http_timeout_s: float = Field(10.0, gt=0)
    http_retries: int = Field(3, ge=0)
    # the Tier0 instance watched: its lock timing (default: the policy's, production 48 h and 30 min)
    tier0_reco_delay_minutes: float | None = Field(None, gt=0, description="Tier0's RecoDelay (replays: 10)")
    tier0_lock_offset_minutes: float | None = Field(None, ge=0, description="Tier0's RecoDelayOffset (replays: 5)")

    def simulator_defaults(self) -> list[str]:
        """The source settings still at their defaults, which point at `spyagency simulate` on this machine."""
        fields = {"tier0_url": "SPYAGENCY_TIER0_URL", "conddb_url": "SPYAGENCY_CONDDB_URL",
                  "dqm_url": "SPYAGENCY_DQM_URL"}
        return [variable for name, variable in fields.items()
                if getattr(self, name) == SourceSettings.model_fields[name].default]

    def poll_interval(self, source: str) -> float:
        """Seconds between polls of ``source`` (tier0, conddb or dqm)."""
        specific: float | None = getattr(self, f"poll_{source}_s")
        return specific if specific is not None else self.poll_interval_s
