"""All configuration, from environment variables ``SPYAGENCY_*`` (or a .env file), in groups.

Each group is a class of its own module (``SourceSettings``, ``StoreSettings``, ``ServiceSettings``,
``SteeringSettings``, ``WarningSettings``); ``Settings`` is all of them at once, which is what the
commands, the service and the Airflow hook read. The environment names stay flat
(``SPYAGENCY_TIER0_URL``, not ``SPYAGENCY_SOURCES__TIER0_URL``): a deployment sets what it always set.
"""

from __future__ import annotations

from pydantic import Field

from spyagency.settings.base import CONFIG
from spyagency.settings.service import ServiceSettings
from spyagency.settings.sources import SIM_DQM_PORT, SIM_TIER0_PORT, SourceSettings
from spyagency.settings.steering import SteeringSettings
from spyagency.settings.store import StoreSettings
from spyagency.settings.warnings import WarningSettings

__all__ = ["SIM_DQM_PORT", "SIM_TIER0_PORT", "ServiceSettings", "Settings", "SourceSettings", "SteeringSettings",
           "StoreSettings", "WarningSettings"]


class Settings(SourceSettings, StoreSettings, ServiceSettings, SteeringSettings, WarningSettings):
    """SpyAgency's settings, every group. Defaults point at the embedded simulator and a local SQLite store."""

    model_config = CONFIG

    policy: str | None = Field(None, description="policy TOML path; None = built-in default")
