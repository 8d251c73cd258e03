"""SpyAgency DAGs: poll each source, decide on new observations, steer Tier0 and warn experts on new
verdicts and every minute besides, whatever the polls and decisions do.

Thin on purpose: no work at import time; every task is one call into spyagency/
through the plugin's task callables (the sign-off operator loads the core only when
an expert answers). Polls publish Assets so that decisions run
when observations arrive (data-aware scheduling), not only on a clock.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import Asset, dag, task
from airflow.sdk.definitions.timetables.assets import AssetOrTimeSchedule
from airflow.sdk.definitions.timetables.trigger import CronTriggerTimetable

from spyagency_airflow.signoff import SignOffOperator

OBSERVATIONS = {source: Asset(f"spyagency://observations/{source}") for source in ("tier0", "conddb", "dqm")}
VERDICTS = Asset("spyagency://verdicts")
START = datetime(2026, 1, 1)
DEFAULT_POLL_S = 60.0  # SPYAGENCY_POLL_INTERVAL_S's default
RETRIES = {"retries": 3, "retry_delay": timedelta(seconds=30), "retry_exponential_backoff": True}


def _interval(source: str) -> timedelta:
    """The poll interval of ``source`` from the environment alone: parsing the DAG file builds no settings."""
    value = os.environ.get(f"SPYAGENCY_POLL_{source.upper()}_S") or os.environ.get("SPYAGENCY_POLL_INTERVAL_S")
    return timedelta(seconds=float(value or DEFAULT_POLL_S))


def _poll_dag(source: str):  # type: ignore[no-untyped-def]
    @dag(dag_id=f"spyagency_poll_{source}", schedule=_interval(source), start_date=START, catchup=False,
         max_active_runs=1, tags=["spyagency"], default_args=RETRIES,
         doc_md=f"Polls the {source} source into the SpyAgency store.")
    def poll_source():  # type: ignore[no-untyped-def]
        @task(task_id=f"poll_{source}", outlets=[OBSERVATIONS[source]])
        def poll_task() -> dict[str, Any]:
            from spyagency_airflow.tasks import poll

            return poll(source)

        poll_task()

    return poll_source()


poll_tier0 = _poll_dag("tier0")
poll_conddb = _poll_dag("conddb")
poll_dqm = _poll_dag("dqm")


@dag(dag_id="spyagency_decide", schedule=(OBSERVATIONS["tier0"] | OBSERVATIONS["conddb"] | OBSERVATIONS["dqm"]),
     start_date=START, catchup=False, max_active_runs=1, tags=["spyagency"], default_args=RETRIES,
     doc_md="Decides readiness of every active run.")
def spyagency_decide():  # type: ignore[no-untyped-def]
    @task(outlets=[VERDICTS])
    def decide() -> dict[str, Any]:
        from spyagency_airflow.tasks import decide as run_decide

        return run_decide()

    decide()


# Steering has a clock of its own: on new verdicts and every minute, so that a decide that cannot run (or
# sources that are all down) still lead to a pause once the verdict of the run in line goes stale near its lock.
STEER_CLOCK = AssetOrTimeSchedule(timetable=CronTriggerTimetable("* * * * *", timezone="UTC"), assets=[VERDICTS])


@dag(dag_id="spyagency_steer", schedule=STEER_CLOCK, start_date=START, catchup=False, max_active_runs=1,
     tags=["spyagency"], default_args=RETRIES,
     doc_md="Pauses or resumes Tier0 prompt-reco releases (rows in promptreco_status), exactly once; warns "
            "AlCa experts near lock time. Each task runs on its own: one failing never stops the other.")
def spyagency_steer():  # type: ignore[no-untyped-def]
    @task
    def steer() -> dict[str, Any]:
        from spyagency_airflow.tasks import steer as run_steer

        return run_steer()

    @task
    def notify_experts() -> dict[str, Any]:
        from spyagency_airflow.tasks import notify

        return notify()

    steer()
    notify_experts()


@dag(dag_id="spyagency_signoff", schedule=[VERDICTS], start_date=START, catchup=False, max_active_runs=1,
     tags=["spyagency"], default_args=RETRIES,
     doc_md="Opens one expert sign-off per run near its lock that only an AlCa expert can unblock.")
def spyagency_signoff():  # type: ignore[no-untyped-def]
    @task
    def open_questions() -> list[dict[str, Any]]:
        from spyagency_airflow.tasks import signoff_requests

        return signoff_requests()

    # the run id names the question (run and states): Airflow refuses a second run of the same id
    TriggerDagRunOperator.partial(task_id="ask_experts", trigger_dag_id="spyagency_signoff_run",
                                  skip_when_already_exists=True).expand_kwargs(open_questions())


@dag(dag_id="spyagency_signoff_run", schedule=None, start_date=START, catchup=False, tags=["spyagency"],
     doc_md="One run's sign-off: accept, accept without payload, or hold; recorded as acknowledgements.")
def spyagency_signoff_run():  # type: ignore[no-untyped-def]
    # a refused answer (a hold without a comment, say) fails the try; the retry asks again
    SignOffOperator(task_id="sign_off", retries=2, retry_delay=timedelta(seconds=5))


spyagency_decide()
spyagency_steer()
spyagency_signoff()
spyagency_signoff_run()
