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


_GRID = {"cert": "grid_cert", "key": "grid_key", "ca_dir": "grid_ca_dir", "ca_file": "grid_ca_file"}
_ORACLE = {"thick_mode": "oracle_thick", "lib_dir": "oracle_client_lib_dir", "config_dir": "oracle_config_dir"}
#: Connection id → its extras that are settings: the grid identity on the HTTPS sources (file paths: the
#: certificate stays on the worker's disk, renewed there), Oracle's client and the password file on the databases.
EXTRAS: dict[str, dict[str, str]] = {
    "spyagency_tier0": _GRID,
    "spyagency_dqm": _GRID,
    "spyagency_conddb": {"schema": "conddb_schema", "password_file": "conddb_password_file", **_ORACLE},
    "spyagency_tier0_control": {"schema": "tier0_control_schema", "password_file": "tier0_control_password_file",
                                **_ORACLE},
}


def _connection(conn_id: str) -> tuple[str | None, dict[str, Any]] | None:
    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception:  # not defined: the caller falls back (to SPYAGENCY_* settings) or says so
        return None
    extra = conn.extra_dejson or {}
    url = extra.get("url") or conn.get_uri()
    return (str(url) if url else None), extra


def connection_url(conn_id: str) -> str | None:
    """The endpoint of Airflow connection ``conn_id`` (its ``extra.url``, else its URI); None if undefined."""
    found = _connection(conn_id)
    return found[0] if found else None


def connection_settings(conn_id: str) -> dict[str, Any]:
    """The settings Airflow connection ``conn_id`` carries in its extras (see ``EXTRAS``)."""
    found = _connection(conn_id)
    if found is None:
        return {}
    return {field: found[1][key] for key, field in EXTRAS.get(conn_id, {}).items()
            if found[1].get(key) not in (None, "")}


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
            for name, value in connection_settings(conn_id).items():
                values.setdefault(name, value)  # the Tier0 connection's identity first, then the DQM's
        values.update(self.overrides)
        return Settings(**values)

    def agency(self) -> Agency:
        return Agency(self.settings())
