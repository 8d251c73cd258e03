"""A deferrable sensor that waits for a PCL payload of a run in a CondDB tag."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseSensorOperator

from spyagency_airflow.triggers import CONDDB_CONN_ID, IovTrigger, conddb_url, iov_exists


class ConditionsUploadedSensor(BaseSensorOperator):
    """Succeeds once ``tag`` has an IOV for ``run``; defers to the triggerer while it waits.

    The CondDB comes from the Airflow connection ``conddb_conn_id`` (its ``extra.url`` or its URI).
    """

    template_fields = ("run", "tag")

    def __init__(self, *, tag: str, run: int, time_type: str = "run", conddb_conn_id: str = CONDDB_CONN_ID,
                 deferrable: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conddb_conn_id, self.tag, self.run, self.time_type = conddb_conn_id, tag, run, time_type
        self.deferrable = deferrable

    def poke(self, context: Any) -> bool:
        return iov_exists(conddb_url(self.conddb_conn_id), self.tag, int(self.run), self.time_type)

    def execute(self, context: Any) -> Any:
        if not self.deferrable or self.poke(context):
            return super().execute(context)
        self.defer(trigger=IovTrigger(self.tag, int(self.run), self.time_type, self.poke_interval,
                                      self.conddb_conn_id), method_name="execute_complete")

    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        return event
