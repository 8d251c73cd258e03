"""All configuration, from environment variables ``SPYAGENCY_*`` (or a .env file), in groups.

Each group is a class of its own module (``SourceSettings``, ``StoreSettings``, ``ServiceSettings``,
``SteeringSettings``, ``WarningSettings``); ``Settings`` is all of them at once, which is what the
commands, the service and the Airflow hook read. The environment names stay flat
(``SPYAGENCY_TIER0_URL``, not ``SPYAGENCY_SOURCES__TIER0_URL``): a deployment sets what it always set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from spyagency.settings.base import CONFIG
from spyagency.settings.service import ServiceSettings
from spyagency.settings.sources import SIM_DQM_PORT, SIM_TIER0_PORT, SourceSettings
from spyagency.settings.steering import SteeringSettings
from spyagency.settings.store import StoreSettings
from spyagency.settings.warnings import WarningSettings

if TYPE_CHECKING:
    from spyagency.database_urls import OracleClient

__all__ = ["SIM_DQM_PORT", "SIM_TIER0_PORT", "ServiceSettings", "Settings", "SourceSettings", "SteeringSettings",
           "StoreSettings", "WarningSettings"]


class Settings(SourceSettings, StoreSettings, ServiceSettings, SteeringSettings, WarningSettings):
    """SpyAgency's settings, every group. Defaults point at the embedded simulator and a local SQLite store."""

    model_config = CONFIG

    policy: str | None = Field(None, description="policy TOML path; None = built-in default")

    def oracle_client(self) -> OracleClient:
        """How the Oracle databases (CondDB, Tier0's switch) are reached: thin, or thick through Instant Client."""
        from spyagency.database_urls import OracleClient

        return OracleClient(self.oracle_thick, self.oracle_client_lib_dir, self.oracle_config_dir)

    def conddb_database_url(self) -> str:
        """The CondDB URL with its password from SPYAGENCY_CONDDB_PASSWORD_FILE or .netrc, if the URL has none."""
        from spyagency.database_urls import with_password

        return with_password(self.conddb_url, self.conddb_password_file, self.netrc_file,
                             "SPYAGENCY_CONDDB_PASSWORD_FILE")

    def tier0_control_database_url(self) -> str | None:
        """The switch database URL with its password from its password file or .netrc, if the URL has none."""
        from spyagency.database_urls import with_password

        if not self.tier0_control_db_url:
            return None
        return with_password(self.tier0_control_db_url, self.tier0_control_password_file, self.netrc_file,
                             "SPYAGENCY_TIER0_CONTROL_PASSWORD_FILE")
