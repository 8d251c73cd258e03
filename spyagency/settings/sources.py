"""Settings of the sources watched: Tier0's data service, the CondDB, the DQM GUI, and how they are polled."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings

from spyagency.core.certificate import ExpiryWarning
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
    conddb_password_file: str | None = Field(
        None, description="file whose first line is the CondDB password (else a .netrc entry <service>/<user>)")
    # Oracle as CERN runs it: native network encryption needs thick mode (Oracle Instant Client)
    oracle_thick: bool = Field(False, description="python-oracledb thick mode (CERN's Oracle needs it)")
    oracle_client_lib_dir: str | None = Field(None, description="Oracle Instant Client directory (thick mode)")
    oracle_config_dir: str | None = Field(None, description="directory of tnsnames.ora (default TNS_ADMIN)")
    netrc_file: str | None = Field(
        None, description=".netrc with database passwords (default $COND_AUTH_PATH/.netrc, then ~/.netrc)")
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
    http_deadline_s: float | None = Field(
        None, gt=0, description="the whole of one request, body included (default 3 x http_timeout_s)")
    source_pass_deadline_s: float | None = Field(
        None, gt=0, description="one poll of Tier0 or the DQM GUI, every request included (default 4 x the "
                                "request deadline); what it cuts off fails the source")
    # the grid identity and trust of the HTTPS sources; unset, the grid's own variables are used
    # (X509_HOST_CERT/KEY, X509_USER_PROXY, X509_USER_CERT/KEY, /tmp/x509up_u<uid>, ~/.globus; X509_CERT_DIR)
    grid_cert: str | None = Field(None, description="certificate or proxy file shown to Tier0 and DQM")
    grid_key: str | None = Field(None, description="its key (omit for a proxy, which holds its key)")
    grid_ca_dir: str | None = Field(None, description="hashed CA directory (default X509_CERT_DIR)")
    grid_ca_file: str | None = Field(None, description="CA bundle file, instead of a directory")
    grid_cert_warn_hours: float = Field(
        168.0, gt=0, description="warn the operators this long before the grid certificate expires")
    grid_proxy_warn_hours: float = Field(
        3.0, gt=0, description="warn the operators when a proxy has this little left (its renewal is late)")

    def expiry_warning(self) -> ExpiryWarning:
        """When the operators are told of a certificate or proxy about to expire."""
        return ExpiryWarning(timedelta(hours=self.grid_cert_warn_hours), timedelta(hours=self.grid_proxy_warn_hours))
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
