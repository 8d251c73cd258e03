"""SpyAgencyHook: builds the core's Agency from Airflow Connections (no secrets in code)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from spyagency.agency import Agency
from spyagency.settings import Settings

#: Connection id → Settings field. A connection's ``extra.url`` (or its URI) gives the endpoint.
CONNECTIONS = {
    "spyagency_store": "db_url",
    "spyagency_tier0": "tier0_url",
    "spyagency_conddb": "conddb_url",
    "spyagency_dqm": "dqm_url",
    "spyagency_tier0_control": "tier0_control_url",
}


class SpyAgencyHook(BaseHook):
    """Gives tasks an Agency wired to the endpoints of the ``spyagency_*`` connections."""

    conn_name_attr = "spyagency_conn_id"
    hook_name = "SpyAgency"

    def __init__(self, **overrides: Any) -> None:
        super().__init__()
        self.overrides = overrides

    @staticmethod
    def _url(conn_id: str) -> str | None:
        try:
            conn = BaseHook.get_connection(conn_id)
        except Exception:  # not defined: fall back to SPYAGENCY_* environment settings
            return None
        extra = conn.extra_dejson or {}
        return extra.get("url") or conn.get_uri()

    def settings(self) -> Settings:
        values: dict[str, Any] = {}
        for conn_id, field in CONNECTIONS.items():
            url = self._url(conn_id)
            if url:
                values[field] = url
        values.update(self.overrides)
        return Settings(**values)

    def agency(self) -> Agency:
        return Agency(self.settings())
