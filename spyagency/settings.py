"""All configuration, from environment variables ``SPYAGENCY_*`` (or a .env file)."""

from __future__ import annotations

import ipaddress
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from spyagency.tokens import parse_token_spec

#: Ports of `spyagency simulate`, so that the defaults below reach it.
SIM_TIER0_PORT = 8081
SIM_DQM_PORT = 8082


class Settings(BaseSettings):
    """SpyAgency settings. Defaults point at the embedded simulator and a local SQLite store."""

    model_config = SettingsConfigDict(env_prefix="SPYAGENCY_", env_file=".env", extra="ignore")

    db_url: str = "sqlite:///var/spyagency.db"
    tier0_url: str = f"http://127.0.0.1:{SIM_TIER0_PORT}/t0wmadatasvc/prod/"
    conddb_url: str = "sqlite:///var/sim/conddb.sqlite"
    conddb_schema: str | None = Field(None, description="e.g. CMS_CONDITIONS on Oracle")
    dqm_url: str = f"http://127.0.0.1:{SIM_DQM_PORT}/"
    dqm_api: Literal["jsonfairy", "v1"] = Field(
        "jsonfairy", description="the DQM GUI's JSON API: jsonfairy (legacy GUI) or v1 (new GUI, /api/v1/json)")
    policy: str | None = Field(None, description="policy TOML path; None = built-in default")
    poll_interval_s: float = Field(60.0, gt=0)
    steer_interval_s: float = Field(60.0, gt=0, description="steering and warnings run this often, whatever the "
                                                            "polls and decisions do")
    #: per-source poll intervals of the Airflow DAGs; default ``poll_interval_s``
    poll_tier0_s: float | None = Field(None, gt=0)
    poll_conddb_s: float | None = Field(None, gt=0)
    poll_dqm_s: float | None = Field(None, gt=0)
    lookback_hours: float = Field(96.0, gt=0)
    decision_retention_days: float = Field(365.0, gt=0, description="decision records older than this are pruned "
                                                                     "(a run's latest is always kept)")
    http_timeout_s: float = Field(10.0, gt=0)
    http_retries: int = Field(3, ge=0)
    # API service
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    release_port: int = Field(8001, description="`spyagency serve-release`: Tier0's own listener")
    auth_mode: Literal["token", "proxy"] = Field("token", description="token (bearer) or proxy (SSO header)")
    tokens: str = Field("", description="token=user:role1|role2 entries, comma separated")
    proxy_user_header: str = "X-Remote-User"
    proxy_roles_header: str = "X-Remote-Roles"
    secret_key: str = Field("change-me", description="signs CSRF tokens of dashboard forms")
    trusted_proxies: str = Field("", description="proxy mode: addresses or networks (comma separated) whose "
                                                 "X-Remote-User/X-Remote-Roles headers are believed")
    proxy_secret: str | None = Field(None, description="proxy mode: or a secret the proxy sends in "
                                                       "X-SpyAgency-Proxy-Secret")
    session_hours: float = Field(8.0, gt=0, description="a dashboard login lasts this long")
    cookie_secure: bool = Field(False, description="mark the login cookie Secure (set behind TLS)")
    api_max_concurrency: int = Field(4096, gt=0, description="connections served at once; more get 503")
    anonymous_page_cache_s: float = Field(2.0, ge=0, description="anonymous readers may see pages this old")
    api_page_slots: int = Field(2, gt=0, description="pages, lists and writes served at once (the release "
                                                    "API is never queued behind them)")
    dashboard_refresh_s: float = Field(5.0, gt=0, description="how often dashboard pages refresh themselves")
    dqm_gui_url: str | None = Field(None, description="DQM GUI for dashboard links; default dqm_url")
    # the Tier0 instance watched: its lock timing (default: the policy's, production 48 h and 30 min)
    tier0_reco_delay_minutes: float | None = Field(None, gt=0, description="Tier0's RecoDelay (replays: 10)")
    tier0_lock_offset_minutes: float | None = Field(None, ge=0, description="Tier0's RecoDelayOffset (replays: 5)")
    # steering
    steer_mode: Literal["sql", "dry-run"] | None = Field(
        None, description="sql: insert rows into Tier0's promptreco_status; dry-run: decide and log only. "
                          "Default: sql when tier0_control_db_url is set, else dry-run")
    tier0_control_db_url: str | None = Field(
        None, description="the Tier0 Data Service database holding promptreco_status, under an account granted "
                          "SELECT and INSERT on it (oracle+oracledb://..., postgresql://..., sqlite:///...)")
    tier0_control_schema: str | None = Field(None, description="schema of promptreco_status, e.g. on Oracle")
    switch_rest_lag_minutes: float = Field(
        5.0, ge=0, description="how old a promptreco_status reply of the data service may be (it caches 5 min): "
                               "no reading is taken for a person's change until SpyAgency's own write is older")
    # warnings to AlCa experts: e-mail if notify_email_to is set, else the webhook, else the log
    notify_webhook: str | None = None
    notify_email_to: str | None = Field(None, description="comma-separated addresses of AlCa experts")
    notify_email_from: str = "spyagency@cern.ch"
    smtp_host: str = Field("localhost", description="SMTP relay of the embedded loop (Airflow: its smtp connection)")
    smtp_port: int = 25
    dashboard_url: str | None = Field(None, description="public dashboard address, for links in warnings")
    allowed_hosts: str | None = Field(
        None, description="Host headers the service answers (comma separated; * for any); default: the bind "
                          "address, localhost and the host of dashboard_url. Others get 400 (DNS rebinding)")

    @property
    def steering(self) -> Literal["sql", "dry-run"]:
        """The steer mode in force: the configured one, else sql where a control database is set."""
        if self.steer_mode is not None:
            return self.steer_mode
        return "sql" if self.tier0_control_db_url else "dry-run"

    def simulator_defaults(self) -> list[str]:
        """The source settings still at their defaults, which point at `spyagency simulate` on this machine."""
        fields = {"tier0_url": "SPYAGENCY_TIER0_URL", "conddb_url": "SPYAGENCY_CONDDB_URL",
                  "dqm_url": "SPYAGENCY_DQM_URL"}
        return [variable for name, variable in fields.items()
                if getattr(self, name) == type(self).model_fields[name].default]

    def hosts_allowed(self) -> list[str]:
        """The Host headers the service answers."""
        if self.allowed_hosts is not None:
            return [h.strip() for h in self.allowed_hosts.split(",") if h.strip()]
        hosts = [self.api_host, "localhost", "127.0.0.1", "::1", "[::1]"]
        if self.dashboard_url:
            public = urlsplit(self.dashboard_url).hostname
            if public:
                hosts.append(public)
        return hosts

    def notify_recipients(self) -> list[str]:
        """The AlCa experts' addresses from ``notify_email_to``."""
        return [a.strip() for a in (self.notify_email_to or "").split(",") if a.strip()]

    def poll_interval(self, source: str) -> float:
        """Seconds between polls of ``source`` (tier0, conddb or dqm)."""
        specific: float | None = getattr(self, f"poll_{source}_s")
        return specific if specific is not None else self.poll_interval_s

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_shape(cls, spec: str) -> str:
        for part in filter(None, (p.strip() for p in spec.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"{part!r} is not an address or network (e.g. 10.0.0.5 or 10.1.0.0/16)") from None
        return spec

    @field_validator("tokens")
    @classmethod
    def _tokens_shape(cls, spec: str) -> str:
        parse_token_spec(spec)  # raises with what would be valid
        return spec
