"""What every settings group shares: the ``SPYAGENCY_`` prefix and the .env file."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

#: Every group reads ``SPYAGENCY_*`` variables (or a .env file): the names stay flat for deployments.
CONFIG = SettingsConfigDict(env_prefix="SPYAGENCY_", env_file=".env", extra="ignore")
