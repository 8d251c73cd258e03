"""Observe: read each source and write what it says into the store.

Each poll is one transaction. A source that fails is recorded as failed (its
data then stops counting in decisions) and the error names the source and why;
observations already stored are never lost.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from spyagency.core.models import DqmCheck, DqmOutcome, Source, Tier0Global, Tier0Run, streams_running
from spyagency.core.plausibility import configuration_doubt, configuration_shrank, fcsr_problem
from spyagency.core.upload_quality import current_iovs, upload_values
from spyagency.passes.decide import attributed_uploads
from spyagency.passes.pass_deadline import NotAsked, PassDeadline
from spyagency.policy import Policy, Workflow, is_pcl_producer
from spyagency.sources.conddb import CondDBClient
from spyagency.sources.dqm import DqmClient, read_quality
from spyagency.sources.errors import SourceAccessDenied, SourceDown, SourceError, SourceUnavailable, Tier0ProtocolError
from spyagency.sources.http import JsonHttp
from spyagency.sources.tier0 import Tier0Client
from spyagency.store import Store
from spyagency.store import observations as obs
from spyagency.store import quality as quality_store
from spyagency.store.switch import record_switch

log = logging.getLogger(__name__)

#: How far below the highest run seen RUN_INFO is read again, for rows written out of run order.
REDISCOVER_RUNS = 100
#: Requests in flight at once to one HTTP source: a first cycle asks about hundreds of runs.
CONCURRENT_REQUESTS = 8
#: Quality monitor elements read per DQM poll at most (a backlog of runs is read over a few polls, so
#: that one poll stays short: the status histograms that decide readiness are read first, every poll).
QUALITY_ELEMENTS_PER_POLL = 600
#: Per-run failures that say a source is down: most of the calls, and at least this many. Tier0 has
#: Tier0-wide calls that already tell an outage, so one or two failing runs are those runs' faults.
DOWN_AFTER = {Source.TIER0: 3, Source.DQM: 2}

T = TypeVar("T")
R = TypeVar("R")


class _Fetchers:
    """One pool of request threads for the process, made on first use (and again in a forked child, which
    inherits the pool but not its threads): starting threads every pass cost more than the requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0

    def get(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                self._pool = ThreadPoolExecutor(max_workers=CONCURRENT_REQUESTS, thread_name_prefix="spyagency-fetch")
                self._pid = os.getpid()
            return self._pool


_fetchers = _Fetchers()


def _fetch_all(fetch: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``fetch`` every item, a few at a time, results in order; the first error is raised."""
    if len(items) <= 1:
        return [fetch(item) for item in items]
    return list(_fetchers.get().map(fetch, items))


@dataclass(frozen=True)
class PollResult:
    """What one poll of one source did."""

    source: Source
    ok: bool
    changes: int
    duration_s: float
    error: str | None = None
    run_faults: tuple[int, ...] = ()  # runs whose own calls failed (only those runs are affected)


def _fail(store: Store, source: Source, now: datetime, error: Exception, started: float) -> PollResult:
    message = str(error)
    log.warning("%s poll failed: %s", source.value, message)
    with store.session() as session:
        obs.record_failure(session, source, now, message)
    return PollResult(source, False, 0, time.perf_counter() - started, message)


def _check_door(store: Store, source: Source, http: JsonHttp) -> None:
    """Record the grid certificate ``source`` is shown; raise its SourceAccessDenied, before any connection,
    when that certificate is missing, unreadable or expired."""
    credential = http.credential(usable=False)
    with store.session() as session:
        obs.record_identity(session, source, credential.as_record() if credential is not None else None)
    http.credential()


def poll_conddb(store: Store, client: CondDBClient, policy: Policy, now: datetime,
                lookback: timedelta = timedelta(hours=96)) -> PollResult:
    """Discover new runs and stop times from RUN_INFO, and new uploads to the policy's tags."""
    started = time.perf_counter()
    try:
        with store.session() as session:
            cursor_time, cursor_run = obs.cursor(session, Source.CONDDB)
            taking_data = obs.runs_taking_data(session)
            watched = obs.unfinished_run_numbers(session)
            fcsr = obs.tier0_global(session).first_conditions_safe_run
        if cursor_run is None:
            cursor_run = client.latest_run_before(now - lookback)
        if cursor_time is None:
            # first poll: runs that started before the look-back are not followed, nor their uploads
            cursor_time = now - lookback
        # RUN_INFO rows are not always written in run order: look again a little below the cursor
        open_set = set(taking_data)
        runs = [r for r in client.runs(after_run=cursor_run - REDISCOVER_RUNS, also=taking_data)
                if r.run > cursor_run or r.run in open_set or r.start_time >= now - lookback]
        tags = client.tag_info(wf.tag for wf in policy.workflows)
        first_run = client.first_run()
        missing = sorted(wf.tag for wf in policy.workflows if wf.tag not in tags)
        # sinces from the lowest run still watched: late uploads land on fcsr, above the locked runs
        from_run = min([*watched, *(r.run for r in runs), *([fcsr] if fcsr else []), cursor_run + 1])
        batch = client.uploads_since(tags, cursor_time, from_run)
    except SourceError as exc:
        return _fail(store, Source.CONDDB, now, exc, started)
    with store.session() as session:
        added_runs = obs.upsert_runs(session, runs, now)
        added_uploads = obs.add_uploads(session, batch.uploads, now)
        obs.record_tags(session, tags)
        newest_run = max([cursor_run, *(r.run for r in runs)])
        duration = time.perf_counter() - started
        # a row stamped ahead of our clock (a skewed writer) must not push the cursor past rows to come
        next_cursor = min(batch.cursor, now) if batch.cursor is not None else None
        obs.record_success(session, Source.CONDDB, now, duration, next_cursor, newest_run)
        obs.record_conddb_catalog(session, missing, first_run)
    _read_upload_quality(store, client, policy, now)
    return PollResult(Source.CONDDB, True, added_runs + added_uploads, duration)


def _read_upload_quality(store: Store, client: CondDBClient, policy: Policy, now: datetime) -> None:
    """Read the payload sizes the quality watch judges, for runs whose own upload arrived and was not
    read yet; a failed read stays unread (the quality is then unknown)."""
    watched = [wf for wf in policy.workflows if wf.quality and wf.quality.reads_uploads]
    if not watched:
        return
    with store.session() as session:
        runs = obs.unfinished_run_numbers(session)
        done = quality_store.read_pairs(session, runs)
        unread = [run for run in runs if any((run, wf.name) not in done for wf in watched)]
        if not unread:
            return
        own, _later = attributed_uploads(session, policy, unread)
    todo = [(run, wf, iovs) for run in unread for wf in watched if (run, wf.name) not in done
            and (iovs := current_iovs(own.get(run, {}).get(wf.tag, ())))]
    if not todo:
        return
    try:
        sizes = client.payload_sizes(iov.payload_hash for _run, _wf, iovs in todo for iov in iovs)
    except SourceError as exc:
        log.warning("payload sizes of %d upload(s) unreadable: %s", len(todo), exc)
        return
    with store.session() as session:
        for run, wf, iovs in todo:
            assert wf.quality is not None
            values = upload_values(wf.quality, iovs, sizes)
            if values is None:
                log.warning("payload sizes of run %s %s incomplete: the PAYLOAD table lacks some", run, wf.name)
            else:
                quality_store.record_values(session, run, wf.name, values, now)


def poll_tier0(store: Store, client: Tier0Client, policy: Policy, now: datetime,
               read_switch: bool = True, pass_deadline_s: float | None = None) -> PollResult:
    """Read the release switch, the first conditions-safe run, and each active run's express status.

    The Tier0-wide calls failing fails the source (every run is then not ready). A per-run call
    failing makes only that run not ready, unless most of them fail: then the service is down. Runs the
    pass's deadline left unasked fail the source too (what was read is kept).
    """
    started = time.perf_counter()
    deadline = PassDeadline("Tier0 Data Service", pass_deadline_s)
    with store.session() as session:
        pending = [r for r in obs.unfinished_runs(session) if _tier0_pending(r, policy)]
        wanted = [r.run for r in pending]
        settled = {r.run: _as_observed(r) for r in pending if _configuration_final(r, policy)}
        believed = obs.tier0_global(session).first_conditions_safe_run  # the fcsr last believed
        highest_run = obs.cursor(session, Source.CONDDB)[1]  # the highest run RUN_INFO has shown
    try:
        _check_door(store, Source.TIER0, client.http)
        global_state = client.observe_global(now)
    except SourceError as exc:
        return _fail(store, Source.TIER0, now, exc, started)
    reading = global_state.first_conditions_safe_run
    doubt = fcsr_problem(reading, believed, highest_run) if reading is not None else None
    if doubt is not None:  # the last plausible value stays; every run waits while Tier0's reading is a fault
        return _fail(store, Source.TIER0, now, Tier0ProtocolError(doubt), started)
    if not read_switch:  # steering reads the switch from its table: a cached REST reading would only mislead
        global_state = Tier0Global(global_state.first_conditions_safe_run, None, global_state.observed_at)

    stored = {r.run: r.express_producers for r in pending}

    def observe(run: int) -> Tier0Run | SourceError:
        if deadline.passed():
            return deadline.not_asked()
        try:
            known = settled.get(run)
            if known is not None:
                return client.observe_streams(known, now)
            observed = client.observe_run(run, now)
            shrunk = configuration_shrank(stored.get(run, {}), observed.express_producers)
            return observed if shrunk is None else Tier0ProtocolError(f"express_config for run {run} {shrunk}")
        except SourceError as exc:
            return exc

    observed = _fetch_all(observe, wanted)
    faults = {run: item for run, item in zip(wanted, observed, strict=True) if isinstance(item, SourceError)}
    if _source_down(Source.TIER0, list(faults.values()), len(wanted)):
        return _fail(store, Source.TIER0, now, _why_down("Tier0 Data Service", list(faults.values()), len(wanted),
                                                         "per-run calls"), started)
    cut = deadline.failure(observed, "per-run calls")
    with store.session() as session:
        obs.record_tier0_global(session, global_state)
        record_switch(session, global_state)
        for run, item in zip(wanted, observed, strict=True):
            if isinstance(item, NotAsked):
                continue  # the run keeps what was read before; the source's failure says why it was not asked
            if isinstance(item, SourceError):
                log.warning("Tier0 per-run call failed for run %s: %s", run, item)
                obs.record_tier0_run_fault(session, run, str(item), now)
            else:
                obs.record_tier0_run(session, item)
        duration = time.perf_counter() - started
        if cut is None:
            obs.record_success(session, Source.TIER0, now, duration)
    if cut is not None:
        return _fail(store, Source.TIER0, now, cut, started)
    return PollResult(Source.TIER0, True, len(observed) - len(faults), duration,
                      run_faults=tuple(sorted(faults)))


def _read_quality(store: Store, client: DqmClient, policy: Policy, rows: Sequence[obs.UnfinishedRun],
                  now: datetime, deadline: PassDeadline) -> SourceAccessDenied | None:
    """Read the quality watch's DQM numbers of outputs not read yet; a failed read stays unread (unknown).
    Returns the door's refusal, if the GUI refused us: that is the source's failure, not a read's."""
    watched = [wf for wf in policy.workflows if wf.quality and not wf.quality.reads_uploads]
    with store.session() as session:
        done = quality_store.read_pairs(session, [r.run for r in rows])
    ready = [(r, wf) for r in sorted(rows, key=lambda r: r.run) for wf in watched
             if (r.run, wf.name) not in done and r.era and _harvest_stream(r, wf) is not None]
    todo = _within_budget(ready, QUALITY_ELEMENTS_PER_POLL)

    def read(item: tuple[obs.UnfinishedRun, Workflow]) -> dict[str, float] | SourceError | None:
        row, wf = item
        assert wf.quality is not None and row.era is not None
        if deadline.passed():
            return None  # unread, read next poll: the quality watch is advice, it fails nothing
        try:
            stream = _harvest_stream(row, wf)
            assert stream is not None  # only harvested outputs are in todo
            return read_quality(client, row.run, row.era, wf.quality, row.express_versions.get(stream), stream)
        except SourceError as exc:
            return exc

    results = _fetch_all(read, todo)
    with store.session() as session:
        for (row, wf), result in zip(todo, results, strict=True):
            if isinstance(result, SourceError):
                log.warning("quality numbers of run %s %s unreadable: %s", row.run, wf.name, result)
            elif result is not None:
                quality_store.record_values(session, row.run, wf.name, result, now)
    return next((r for r in results if isinstance(r, SourceAccessDenied)), None)


def _knock(client: DqmClient) -> SourceError | None:
    """The DQM GUI's failure if its door is shut to us or nothing answers there at all; any other answer (a
    404, the new GUI's 500 "ME not found") says the GUI is there and lets us in."""
    try:
        client.knock()
    except SourceAccessDenied as exc:
        return exc
    except SourceUnavailable as exc:
        return exc if exc.connection_failed else None
    except SourceError:
        pass
    return None


def _within_budget(ready: Sequence[tuple[obs.UnfinishedRun, Workflow]],
                   budget: int) -> list[tuple[obs.UnfinishedRun, Workflow]]:
    """The first outputs of ``ready`` (oldest runs first: nearest their lock) whose monitor elements fit in
    ``budget`` requests; at least one, so that a large watch is never starved."""
    taken: list[tuple[obs.UnfinishedRun, Workflow]] = []
    spent = 0
    for row, wf in ready:
        assert wf.quality is not None
        cost = len({feature.histogram for feature in wf.quality.features})
        if taken and spent + cost > budget:
            break
        taken.append((row, wf))
        spent += cost
    return taken


def _source_down(source: Source, failures: Sequence[SourceError], asked: int) -> bool:
    """Whether per-run failures say the service is down rather than some runs' data bad (a source asking us
    to slow down, HTTP 429, is busy, not down: those runs stay unread)."""
    if any(isinstance(f, SourceUnavailable) and f.connection_failed for f in failures):
        return True
    counted = [f for f in failures if not (isinstance(f, SourceUnavailable) and f.busy)]
    return len(counted) >= DOWN_AFTER[source] and len(counted) * 2 > asked


def _why_down(label: str, failures: Sequence[SourceError], asked: int, what: str) -> SourceError:
    """The failure recorded for a source that is down: a shut door in its own words, else a count."""
    shut = next((f for f in failures if isinstance(f, SourceAccessDenied)), None)
    if shut is not None:
        return shut
    return SourceDown(f"{label}: {len(failures)} of {asked} {what} failed, e.g. {failures[0]}")


def _tier0_pending(row: obs.UnfinishedRun, policy: Policy) -> bool:
    """Whether Tier0 may still say something new about this run."""
    if not _configuration_final(row, policy):
        return True
    streams = {stream for stream, producers in row.express_producers.items() if any(map(is_pcl_producer, producers))}
    return not all(row.streams_done.get(s) for s in streams)


def _configuration_final(row: obs.UnfinishedRun, policy: Policy) -> bool:
    """Whether Tier0's era and express configuration of this run are believed complete: read after it
    stopped, listing at least one stream, and confirmed by two reads far enough apart to both be answers
    (configuration_doubt); then only its streams' completion is worth asking again. An empty configuration
    is never final: a transfer backlog answers the same, for hours."""
    return bool(row.tier0_known and row.era is not None and row.stop_time is not None and row.express_producers
                and configuration_doubt(row.run, row.configuration_since, row.tier0_observed_at,
                                        policy.sources.agreement) is None)


def _as_observed(row: obs.UnfinishedRun) -> Tier0Run:
    return Tier0Run(row.run, True, row.era, {s: frozenset(p) for s, p in row.express_producers.items()},
                    dict(row.streams_done), row.tier0_observed_at, dict(row.express_versions),
                    configuration_since=row.configuration_since)


def _harvest_stream(row: obs.UnfinishedRun, wf: Workflow) -> str | None:
    """The first express stream of the run that carries ``wf``'s producer and is done (its harvest may exist)."""
    return next((s for s in streams_running(row.express_producers, wf.producer) if row.streams_done.get(s)), None)


def poll_dqm(store: Store, client: DqmClient, policy: Policy, now: datetime,
             pass_deadline_s: float | None = None) -> PollResult:
    """Read the DQM status histograms of workflows whose harvest may have finished, then the quality
    watch's numbers; histograms the pass's deadline left unasked fail the source (what was read is kept)."""
    started = time.perf_counter()
    deadline = PassDeadline("DQM GUI", pass_deadline_s)
    checked = [wf for wf in policy.workflows if wf.dqm]
    try:
        _check_door(store, Source.DQM, client.http)
    except SourceError as exc:
        return _fail(store, Source.DQM, now, exc, started)
    with store.session() as session:
        rows = [r for r in obs.unfinished_runs(session) if r.era is not None]
        final = obs.conclusive_dqm(session, [r.run for r in rows], policy.sources.agreement)
        versions = {r.run: dict(r.express_versions or {}) for r in rows}
        streams = {(r.run, wf.name): _harvest_stream(r, wf) for r in rows for wf in checked}
        todo = [(r.run, r.era, wf) for r in rows for wf in checked
                if (r.run, wf.name) not in final and streams[r.run, wf.name] is not None]

    def check(item: tuple[int, str, Workflow]) -> DqmCheck | SourceError:
        if deadline.passed():
            return deadline.not_asked()
        run, era, wf = item
        stream = streams[run, wf.name]
        assert wf.dqm is not None and stream is not None  # only harvested DQM-checked workflows are in todo
        try:
            return client.check(run, era, wf.name, wf.dqm, now, versions[run].get(stream), stream)
        except SourceError as exc:
            return exc

    items = [(run, era, wf) for run, era, wf in todo if era is not None]
    results = _fetch_all(check, items)
    faults = [(item, r) for item, r in zip(items, results, strict=True) if isinstance(r, SourceError)]
    if _source_down(Source.DQM, [error for _item, error in faults], len(items)):
        return _fail(store, Source.DQM, now, _why_down("DQM GUI", [error for _item, error in faults], len(items),
                                                       "histogram reads"), started)
    cut = deadline.failure(results, "histogram reads")
    checks: list[DqmCheck] = []
    for (run, _era, wf), result in zip(items, results, strict=True):
        if isinstance(result, NotAsked):
            continue
        if isinstance(result, SourceError):
            log.warning("DQM read failed for run %s %s: %s", run, wf.name, result)
            result = DqmCheck(run, wf.name, DqmOutcome.UNREADABLE, str(result), now)
        checks.append(result)
    with store.session() as session:
        obs.record_dqm(session, checks)
        obs.record_dqm_looked(session, [r.run for r in rows], now)
    if cut is not None:
        return _fail(store, Source.DQM, now, cut, started)
    shut: SourceError | None = _read_quality(store, client, policy, rows, now, deadline)
    if shut is None and not items:
        shut = _knock(client)  # nothing was asked: knock, so that a shut door or a dead GUI shows while idle
    if shut is not None:
        return _fail(store, Source.DQM, now, shut, started)
    with store.session() as session:
        duration = time.perf_counter() - started
        obs.record_success(session, Source.DQM, now, duration)
    return PollResult(Source.DQM, True, len(results) - len(faults), duration,
                      run_faults=tuple(sorted({run for (run, _e, _w), _r in faults})))
