"""A trigger (runs in the triggerer) that waits for a run's IOV in a CondDB tag.

It carries the CondDB *connection id*, never its URL: a serialized trigger is stored in Airflow's
database and shown in its UI, and a URL may hold a password. The triggerer resolves the id.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from spyagency.sources.conddb import CondDBClient
from spyagency_airflow.hooks import connection_url

#: The CondDB connection the sensor reads by default (the same one the polling DAG uses).
CONDDB_CONN_ID = "spyagency_conddb"


def iov_exists(conddb_url: str, tag: str, run: int, time_type: str) -> bool:
    """Whether ``tag`` has an IOV whose since lies in ``run``."""
    client = CondDBClient(conddb_url)
    try:
        return client.has_iov(tag, run, time_type)
    finally:
        client.close()


def conddb_url(conn_id: str) -> str:
    """The CondDB URL of Airflow connection ``conn_id``; a clear error if it is not defined."""
    url = connection_url(conn_id)
    if not url:
        raise LookupError(f"Airflow connection {conn_id!r} is not defined: it should give the CondDB URL")
    return url


class IovTrigger(BaseTrigger):
    """Fires once ``tag`` has an IOV in ``run``. (The run number is ``run_number``: ``run`` is the
    coroutine the triggerer calls, and an attribute of that name would hide it.)"""

    def __init__(self, tag: str, run: int, time_type: str, poke_interval: float = 60.0,
                 conddb_conn_id: str = CONDDB_CONN_ID) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.tag, self.run_number, self.time_type = tag, run, time_type
        self.poke_interval, self.conddb_conn_id = poke_interval, conddb_conn_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("spyagency_airflow.triggers.IovTrigger",
                {"conddb_conn_id": self.conddb_conn_id, "tag": self.tag, "run": self.run_number,
                 "time_type": self.time_type, "poke_interval": self.poke_interval})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        url = await asyncio.to_thread(conddb_url, self.conddb_conn_id)
        while True:
            found = await asyncio.to_thread(iov_exists, url, self.tag, self.run_number, self.time_type)
            if found:
                yield TriggerEvent({"tag": self.tag, "run": self.run_number})  # type: ignore[no-untyped-call]
                return
            await asyncio.sleep(self.poke_interval)
