"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from spyagency.core.certificate import certificate_note
from spyagency.core.models import RunState, Source
from spyagency.core.readiness import source_problem
from spyagency.store import queries

from ..deps import AppState, State

router = APIRouter(tags=["health"])
#: Liveness alone: also served by the release listener.
liveness = APIRouter(tags=["health"])


@liveness.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Store reachable and sources fresh")
def readyz(state: State) -> JSONResponse:
    problems: dict[str, str] = {}
    try:
        with state.store.session() as session:
            queries.check_integrity(session)
            statuses = {row.source: row for row in queries.source_statuses(session)}
    except Exception as exc:  # any store failure means not ready
        return JSONResponse({"ready": False, "problems": {"store": f"unreachable: {type(exc).__name__}"}}, 503)
    now = state.clock.now()
    warnings: dict[str, str] = {}
    for source in (Source.TIER0, Source.CONDDB, Source.DQM):
        row = statuses.get(source.value)
        health = row.health() if row else None
        problem = source_problem(health, now, state.policy.sources.stale_after, state.policy.sources.clock_tolerance)
        if problem:
            problems[source.value] = problem
        if row is not None and row.certificate is not None:
            note, attention = certificate_note(row.certificate, datetime.now(UTC), state.settings.expiry_warning())
            if attention:
                warnings[source.value] = note
    steering = ("sql: inserts rows into Tier0's promptreco_status" if state.settings.steering == "sql" else
                "dry run: SpyAgency is not steering Tier0 (no SPYAGENCY_TIER0_CONTROL_DB_URL)")
    return JSONResponse({"ready": not problems, "problems": problems, "warnings": warnings, "steering": steering},
                        200 if not problems else 503)


class StoreCollector:
    """Reads the store at scrape time, so metrics agree with the API whoever runs the poller."""

    def __init__(self, app_state: AppState) -> None:
        self.app_state = app_state

    def collect(self):  # type: ignore[no-untyped-def]
        now = self.app_state.clock.now()
        with self.app_state.store.session() as session:
            by_state = queries.runs_by_state(session)
            statuses = queries.source_statuses(session)
            decisions = queries.release_decision_counts(session)
        runs = GaugeMetricFamily("spyagency_runs", "Runs by readiness state", labels=["state"])
        for run_state in RunState:
            runs.add_metric([run_state.value], by_state.get(run_state.value, 0))
        yield runs
        age = GaugeMetricFamily("spyagency_source_age_seconds", "Seconds since a source last answered",
                                labels=["source"])
        failing = GaugeMetricFamily("spyagency_source_failing", "1 if the latest poll of a source failed",
                                    labels=["source"])
        duration = GaugeMetricFamily("spyagency_poll_duration_seconds", "Duration of the latest poll",
                                     labels=["source"])
        for row in statuses:
            if row.last_success is not None:
                age.add_metric([row.source], (now - row.last_success).total_seconds())
            failing.add_metric([row.source], 1.0 if row.failing else 0.0)
            if row.last_duration_s is not None:
                duration.add_metric([row.source], row.last_duration_s)
        yield age
        yield failing
        yield duration
        released = CounterMetricFamily("spyagency_release_decisions", "Release answers recorded",
                                       labels=["release"])
        for release, count in decisions.items():
            released.add_metric(["true" if release else "false"], count)
        yield released


#: A scrape is served from memory for this long: a flood of anonymous scrapes costs the store nothing.
METRICS_CACHE_S = 5.0
_metrics_lock = threading.Lock()


@router.get("/metrics", summary="Prometheus metrics")
def metrics(state: State) -> Response:
    with _metrics_lock:  # one scrape reads the store at a time; the others wait for its result
        made, body = state.metrics_cache
        if not body or time.monotonic() - made > METRICS_CACHE_S:
            registry = CollectorRegistry()
            registry.register(StoreCollector(state))
            body = generate_latest(registry)
            state.metrics_cache = (time.monotonic(), body)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
