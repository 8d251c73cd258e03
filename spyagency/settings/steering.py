"""Settings of steering: how SpyAgency moves Tier0's release switch, and how often."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings

from spyagency.settings.base import CONFIG


class SteeringSettings(BaseSettings):
    """The switch's database, the steer mode and the steering clock."""

    model_config = CONFIG

    steer_mode: Literal["sql", "dry-run"] | None = Field(
        None, description="sql: insert rows into Tier0's promptreco_status; dry-run: decide and log only. "
                          "Default: sql when tier0_control_db_url is set, else dry-run")
    tier0_control_db_url: str | None = Field(
        None, description="the Tier0 Data Service database holding promptreco_status, under an account granted "
                          "SELECT and INSERT on it (oracle+oracledb://..., postgresql://..., sqlite:///...)")
    tier0_control_schema: str | None = Field(None, description="schema of promptreco_status, e.g. on Oracle")
    tier0_control_password_file: str | None = Field(
        None, description="file whose first line is the switch account's password (else a .netrc entry)")
    switch_rest_lag_minutes: float = Field(
        5.0, ge=0, description="how old a promptreco_status reply of the data service may be (it caches 5 min): "
                               "no reading is taken for a person's change until SpyAgency's own write is older")
    steer_interval_s: float = Field(60.0, gt=0, description="steering and warnings run this often, whatever the "
                                                            "polls and decisions do")
    switch_ahead_tolerance_s: float = Field(
        60.0, ge=0, description="how far ahead of SpyAgency's clock the switch's newest row may be stamped "
                                "(clock skew) before SpyAgency refuses to write after it")
    switch_watch_s: float = Field(
        2.0, gt=0, description="while someone else's pause holds back a run SpyAgency would pause for, the switch is "
                               "read this often, so that SpyAgency pauses before Tier0's feeder (it polls every "
                               "30 s) locks the run on their resume")

    @property
    def steering(self) -> Literal["sql", "dry-run"]:
        """The steer mode in force: the configured one, else sql where a control database is set."""
        if self.steer_mode is not None:
            return self.steer_mode
        return "sql" if self.tier0_control_db_url else "dry-run"
