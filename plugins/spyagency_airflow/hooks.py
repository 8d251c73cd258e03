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
    "spyagency_tier0_control": "tier0_control_db_url",  # the data service's database (promptreco_status)
}


def connection_url(conn_id: str) -> str | None:
    """The endpoint of Airflow connection ``conn_id`` (its ``extra.url``, else its URI); None if undefined."""
    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception:  # not defined: the caller falls back (to SPYAGENCY_* settings) or says so
        return None
    extra = conn.extra_dejson or {}
    url = extra.get("url") or conn.get_uri()
    return str(url) if url else None


class SpyAgencyHook(BaseHook):
    """Gives tasks an Agency wired to the endpoints of the ``spyagency_*`` connections."""

    conn_name_attr = "spyagency_conn_id"
    default_conn_name = "spyagency_store"
    hook_name = "SpyAgency"

    def __init__(self, spyagency_conn_id: str = default_conn_name, **overrides: Any) -> None:
        super().__init__()
        self.spyagency_conn_id = spyagency_conn_id  # the store's connection; the others are named in CONNECTIONS
        self.overrides = overrides

    def settings(self) -> Settings:
        values: dict[str, Any] = {}
        for conn_id, field in CONNECTIONS.items():
            url = connection_url(self.spyagency_conn_id if field == "db_url" else conn_id)
            if url:
                values[field] = url
        values.update(self.overrides)
        return Settings(**values)

    def agency(self) -> Agency:
        return Agency(self.settings())
