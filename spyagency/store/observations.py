"""Writing observations into the store, and reading them back as decision input."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, select, tuple_, update
from sqlalchemy.orm import Session

from spyagency.core.models import (
    AckKind,
    Acknowledgement,
    AttributedUpload,
    DqmCheck,
    DqmOutcome,
    FcsrSpan,
    RunInfo,
    RunLine,
    RunObservations,
    Source,
    SourceHealth,
    TagInfo,
    Tier0Global,
    Tier0Run,
    Upload,
)
from spyagency.core.plausibility import believed_stop, configuration_since, dqm_doubt
from spyagency.redact import mask_credentials
from spyagency.store.tables import (
    AckRow,
    DqmRow,
    FcsrSpanRow,
    SourceStatusRow,
    Tier0GlobalRow,
    TrackedRun,
    UploadRow,
)

log = logging.getLogger(__name__)

#: How many runs below the lowest watched run attribution also looks at (who held fcsr down).
LINE_CONTEXT_RUNS = 20


def _source_row(session: Session, source: Source) -> SourceStatusRow:
    row = session.get(SourceStatusRow, source.value)
    if row is None:
        row = SourceStatusRow(source=source.value)
        session.add(row)
    return row


def record_success(session: Session, source: Source, now: datetime, duration_s: float,
                   cursor_time: datetime | None = None, cursor_run: int | None = None) -> None:
    """Mark a source as having answered at ``now``; advance its cursor if given."""
    row = _source_row(session, source)
    row.last_success = now
    row.failing = False
    row.last_duration_s = duration_s
    if cursor_time is not None:
        row.cursor_time = cursor_time
    if cursor_run is not None:
        row.cursor_run = cursor_run


def record_identity(session: Session, source: Source, identity: dict[str, Any] | None) -> None:
    """The grid certificate ``source`` is shown (what ``Credential.as_record`` says), or None when none is."""
    row = _source_row(session, source)
    if row.identity != identity:
        row.identity = identity


def record_conddb_catalog(session: Session, missing_tags: list[str], first_run: int | None) -> None:
    """What the CondDB said about itself: destination tags it lacks, and its lowest run."""
    row = _source_row(session, Source.CONDDB)
    row.missing_tags = missing_tags
    row.first_run = first_run


@dataclass(frozen=True)
class UnfinishedRun:
    """What the pollers need to know of a run SpyAgency still watches."""

    run: int
    era: str | None
    stop_time: datetime | None
    tier0_known: bool | None
    tier0_observed_at: datetime | None
    express_producers: dict[str, list[str]]
    streams_done: dict[str, bool]
    express_versions: dict[str, int]
    configuration_since: datetime | None = None


def unfinished_runs(session: Session) -> list[UnfinishedRun]:
    """Runs not yet finalized, in run order."""
    columns = (TrackedRun.run, TrackedRun.era, TrackedRun.stop_time, TrackedRun.tier0_known,
               TrackedRun.tier0_observed_at, TrackedRun.express_producers, TrackedRun.streams_done,
               TrackedRun.express_versions, TrackedRun.configuration_since)
    return [UnfinishedRun(run, era, stop, known, observed_at, dict(producers or {}), dict(done or {}),
                          dict(versions or {}), since)
            for run, era, stop, known, observed_at, producers, done, versions, since in session.execute(
                select(*columns).where(TrackedRun.finalized.is_(False)).order_by(TrackedRun.run))]


def missing_tags(session: Session) -> frozenset[str]:
    """Destination tags the CondDB said it lacks at its latest catalogue read."""
    row = session.get(SourceStatusRow, Source.CONDDB.value)
    return frozenset(row.missing_tags or []) if row else frozenset()


def record_failure(session: Session, source: Source, now: datetime, error: str) -> None:
    """Mark a source as failed at ``now``; its data stops counting until it answers again."""
    row = _source_row(session, source)
    row.last_error = mask_credentials(error)
    row.last_error_at = now
    row.failing = True


def cursor(session: Session, source: Source) -> tuple[datetime | None, int | None]:
    row = session.get(SourceStatusRow, source.value)
    return (row.cursor_time, row.cursor_run) if row else (None, None)


def health(session: Session) -> dict[Source, SourceHealth]:
    """Last success and last error of every source."""
    result: dict[Source, SourceHealth] = {}
    for row in session.scalars(select(SourceStatusRow)):
        source = Source(row.source)
        result[source] = SourceHealth(source, row.last_success, row.last_error, row.last_error_at, bool(row.failing))
    return result


def upsert_runs(session: Session, runs: Iterable[RunInfo], now: datetime) -> int:
    """Add new runs and update stop times; return how many runs are new."""
    runs = list(runs)
    tracked = {row.run: row for row in session.scalars(
        select(TrackedRun).where(TrackedRun.run.in_([info.run for info in runs])))} if runs else {}
    added = 0
    for info in runs:
        row = tracked.get(info.run)
        if row is None:
            session.add(TrackedRun(run=info.run, start_time=info.start_time,
                                   stop_time=believed_stop(None, info.stop_time, now),
                                   first_seen=now, express_producers={}, streams_done={}, reasons=[]))
            added += 1
        else:
            stop = believed_stop(row.stop_time, info.stop_time, now)
            if stop != info.stop_time:
                log.warning("RUN_INFO gives run %s the stop time %s; %s is believed (a stop never moves later)",
                            info.run, info.stop_time, stop)
            if stop != row.stop_time:
                row.stop_time = stop
                bump_facts(session, [info.run])
    return added


def unfinished_run_numbers(session: Session) -> list[int]:
    """Runs whose verdict may still change (Tier0 has not locked them)."""
    return list(session.scalars(select(TrackedRun.run).where(TrackedRun.finalized.is_(False))
                                .order_by(TrackedRun.run)))


def runs_taking_data(session: Session) -> list[int]:
    """Active runs without a stop time yet."""
    return list(session.scalars(select(TrackedRun.run).where(
        TrackedRun.finalized.is_(False), TrackedRun.stop_time.is_(None))))


def bump_facts(session: Session, runs: Iterable[int]) -> None:
    """Say that facts about ``runs`` changed: a verdict made from older facts will not be saved."""
    runs = sorted(set(runs))
    if runs:
        session.execute(update(TrackedRun).where(TrackedRun.run.in_(runs))
                        .values(facts_version=TrackedRun.facts_version + 1),
                        execution_options={"synchronize_session": False})


def facts_versions(session: Session, runs: Sequence[int]) -> dict[int, int]:
    """The facts version of each run, read before the facts a decision is made from."""
    rows = session.execute(select(TrackedRun.run, TrackedRun.facts_version).where(TrackedRun.run.in_(runs)))
    return {run: version for run, version in rows}


def record_tier0_run(session: Session, observed: Tier0Run) -> None:
    """Store what Tier0 said about one run; clears an earlier per-run fault."""
    row = session.get(TrackedRun, observed.run)
    if row is None:
        return
    bump_facts(session, [observed.run])
    row.tier0_error = None
    row.tier0_error_at = None
    row.tier0_known = observed.known
    row.era = observed.era
    producers = {s: sorted(p) for s, p in observed.express_producers.items()}
    row.configuration_since = configuration_since(row.configuration_since, row.express_producers or {}, producers,
                                                  observed.observed_at, row.stop_time)
    row.express_producers = producers
    row.streams_done = dict(observed.streams_done)
    row.express_versions = dict(observed.express_versions)
    row.tier0_observed_at = observed.observed_at


def record_tier0_run_fault(session: Session, run: int, error: str, now: datetime) -> None:
    """A per-run Tier0 call failed: this run's Tier0 facts stop counting until it answers again."""
    row = session.get(TrackedRun, run)
    if row is not None:
        bump_facts(session, [run])
        row.tier0_error = mask_credentials(error)
        row.tier0_error_at = now


def record_tier0_global(session: Session, observed: Tier0Global) -> None:
    """Store the release switch and fcsr; extend the fcsr history (it only moves up)."""
    row = session.get(Tier0GlobalRow, 1) or Tier0GlobalRow(id=1)
    row.first_conditions_safe_run = observed.first_conditions_safe_run
    if observed.promptreco_enabled is not None:  # None: the switch is read elsewhere (its table)
        row.promptreco_enabled = observed.promptreco_enabled
        row.observed_at = observed.observed_at
    session.merge(row)
    if observed.first_conditions_safe_run is not None and observed.observed_at is not None:
        _extend_fcsr_history(session, observed.first_conditions_safe_run, observed.observed_at)


def record_switch_reading(session: Session, observed: Tier0Global) -> None:
    """Store a reading of the switch taken from Tier0's table itself."""
    row = session.get(Tier0GlobalRow, 1) or Tier0GlobalRow(id=1, first_conditions_safe_run=None)
    row.promptreco_enabled = observed.promptreco_enabled
    row.observed_at = observed.observed_at
    session.merge(row)


def _extend_fcsr_history(session: Session, value: int, at: datetime) -> None:
    latest = session.scalars(select(FcsrSpanRow).order_by(FcsrSpanRow.id.desc()).limit(1)).first()
    if latest is not None and latest.value == value and at >= latest.last_seen:
        latest.last_seen = at
    elif latest is None or at >= latest.last_seen:
        # a lower value than before is recorded as seen too: the bounds then stay conservative
        session.add(FcsrSpanRow(value=value, first_seen=at, last_seen=at))


def fcsr_history(session: Session) -> list[FcsrSpan]:
    """Every recorded span of the first conditions-safe run, oldest first."""
    return [FcsrSpan(r.value, r.first_seen, r.last_seen)
            for r in session.scalars(select(FcsrSpanRow).order_by(FcsrSpanRow.id))]


def record_tags(session: Session, tags: dict[str, TagInfo]) -> None:
    """Remember time type and synchronization of the destination tags."""
    row = _source_row(session, Source.CONDDB)
    row.tags = {name: [info.time_type, info.synchronization] for name, info in sorted(tags.items())}


def first_run(session: Session) -> int | None:
    """The lowest run RUN_INFO held at the last CondDB poll (None if not read yet or empty)."""
    row = session.get(SourceStatusRow, Source.CONDDB.value)
    return row.first_run if row else None


def tag_info(session: Session) -> dict[str, TagInfo]:
    """Destination tags as last read from the CondDB TAG table."""
    row = session.get(SourceStatusRow, Source.CONDDB.value)
    stored = (row.tags or {}) if row else {}
    return {name: TagInfo(name, str(kind), str(sync)) for name, (kind, sync) in stored.items()}


def tier0_global(session: Session) -> Tier0Global:
    row = session.get(Tier0GlobalRow, 1)
    if row is None:
        return Tier0Global(None, None, None)
    return Tier0Global(row.first_conditions_safe_run, row.promptreco_enabled, row.observed_at)


def add_uploads(session: Session, uploads: Sequence[Upload], now: datetime) -> int:
    """Store uploads grouped per (tag, since run, insertion); skip ones already stored."""
    groups: dict[tuple[str, int, datetime], list[Upload]] = defaultdict(list)
    for upload in uploads:
        groups[(upload.tag, upload.since_run, upload.inserted_at)].append(upload)
    if not groups:
        return 0
    runs = {key[1] for key in groups}
    existing = {
        (r.tag, r.since_run, r.inserted_at): r
        for r in session.scalars(select(UploadRow).where(UploadRow.since_run.in_(runs)))
    }
    added = 0
    changed: set[int] = set()
    for key, members in groups.items():
        first = min(members, key=lambda u: u.since)
        row = existing.get(key)
        if row is None or len(members) > row.iov_count:
            changed.add(key[1])
        if row is None:
            session.add(UploadRow(tag=key[0], since_run=key[1], first_since=first.since,
                                  iov_count=len(members), payload_hash=first.payload_hash,
                                  inserted_at=key[2], observed_at=now))
            added += 1
        elif len(members) > row.iov_count:  # the overlap window saw more of the same upload
            row.iov_count = len(members)
            row.first_since = min(row.first_since, first.since)
    bump_facts(session, changed)
    return added


def record_dqm(session: Session, checks: Sequence[DqmCheck]) -> None:
    """Store the latest DQM reading of each workflow of each run. A reading that says what the stored one
    says only moves its ``observed_at``: the run's facts did not change, and its verdict stands."""
    if not checks:
        return
    stored = {(run, workflow): (outcome, detail) for run, workflow, outcome, detail in session.execute(
        select(DqmRow.run, DqmRow.workflow, DqmRow.outcome, DqmRow.detail)
        .where(DqmRow.run.in_(sorted({c.run for c in checks}))))}
    changed: list[DqmCheck] = []
    seen_again: dict[datetime, list[tuple[int, str]]] = defaultdict(list)
    for check in checks:
        if stored.get((check.run, check.workflow)) == (check.outcome.value, check.detail):
            seen_again[check.observed_at].append((check.run, check.workflow))
        else:
            changed.append(check)
    bump_facts(session, [c.run for c in changed])
    for check in changed:
        session.merge(DqmRow(run=check.run, workflow=check.workflow, outcome=check.outcome.value,
                             detail=check.detail, observed_at=check.observed_at, first_seen=check.observed_at))
    for moment, pairs in seen_again.items():
        session.execute(update(DqmRow).where(tuple_(DqmRow.run, DqmRow.workflow).in_(pairs))
                        .values(observed_at=moment), execution_options={"synchronize_session": False})


def conclusive_dqm(session: Session, runs: Iterable[int], agreement: timedelta) -> set[tuple[int, str]]:
    """(run, workflow) pairs whose DQM reading is final and need not be fetched again. A "no payload by
    design" lets a run go without a payload: it is final only once confirmed (``dqm_confirmed``)."""
    final = [o.value for o in DqmOutcome if o not in (DqmOutcome.NOT_AVAILABLE, DqmOutcome.UNREADABLE)]
    rows = session.execute(select(DqmRow.run, DqmRow.workflow, DqmRow.outcome, DqmRow.observed_at,
                                  DqmRow.first_seen).where(DqmRow.run.in_(list(runs)), DqmRow.outcome.in_(final)))
    return {(run, wf) for run, wf, outcome, observed_at, first_seen in rows
            if outcome != DqmOutcome.NO_UPDATE.value or dqm_doubt(first_seen, observed_at, agreement) is None}


def uploads_from(session: Session, from_run: int) -> list[Upload]:
    """Every stored upload whose since lies in ``from_run`` or later."""
    columns = (UploadRow.tag, UploadRow.first_since, UploadRow.since_run, UploadRow.payload_hash,
               UploadRow.inserted_at)
    return [Upload(tag, first_since, since_run, payload_hash, inserted_at)  # plain rows: no ORM objects
            for tag, first_since, since_run, payload_hash, inserted_at in session.execute(
                select(*columns).where(UploadRow.since_run >= from_run))]


def run_line(session: Session, from_run: int) -> list[RunLine]:
    """Tracked runs from ``from_run`` up, plus a few below it, in run order."""
    columns = (TrackedRun.run, TrackedRun.stop_time, TrackedRun.tier0_known)
    below = session.execute(select(*columns).where(TrackedRun.run < from_run)
                            .order_by(TrackedRun.run.desc()).limit(LINE_CONTEXT_RUNS)).all()
    above = session.execute(select(*columns).where(TrackedRun.run >= from_run).order_by(TrackedRun.run)).all()
    return [RunLine(run, stop, bool(known)) for run, stop, known in [*reversed(below), *above]]


#: The columns of a run's row that a decision reads (not its verdict, which the decision rewrites).
_OBSERVED = (TrackedRun.run, TrackedRun.start_time, TrackedRun.stop_time, TrackedRun.tier0_known, TrackedRun.era,
             TrackedRun.express_producers, TrackedRun.streams_done, TrackedRun.tier0_observed_at,
             TrackedRun.tier0_error, TrackedRun.dqm_observed_at, TrackedRun.configuration_since)


def load_observations(session: Session, runs: Sequence[int],
                      attributed: dict[int, dict[str, tuple[AttributedUpload, ...]]],
                      landed_later: dict[int, dict[str, tuple[AttributedUpload, ...]]],
                      missing_tags: frozenset[str] = frozenset()) -> dict[int, RunObservations]:
    """Rebuild the decision input for ``runs`` from what the store holds and the attributed uploads."""
    if not runs:
        return {}
    tracked = session.execute(select(*_OBSERVED).where(TrackedRun.run.in_(runs))).all()
    dqm: dict[int, dict[str, DqmCheck]] = defaultdict(dict)
    for check in session.scalars(select(DqmRow).where(DqmRow.run.in_(runs))):
        dqm[check.run][check.workflow] = DqmCheck(check.run, check.workflow, DqmOutcome(check.outcome),
                                                  check.detail, check.observed_at, check.first_seen)
    acks: dict[int, dict[str, Acknowledgement]] = defaultdict(dict)
    for ack in session.scalars(select(AckRow).where(AckRow.run.in_(runs)).order_by(AckRow.id)):
        acks[ack.run][ack.workflow] = Acknowledgement(ack.run, ack.workflow, AckKind(ack.kind),
                                                      ack.author, ack.comment, ack.created_at)
    result: dict[int, RunObservations] = {}
    for row in tracked:
        tier0 = None
        if row.tier0_observed_at is not None or row.tier0_error is not None:
            tier0 = Tier0Run(
                run=row.run, known=row.tier0_known, era=row.era,
                express_producers={s: frozenset(p) for s, p in row.express_producers.items()},
                streams_done=dict(row.streams_done), observed_at=row.tier0_observed_at,
                error=row.tier0_error, configuration_since=row.configuration_since)
        result[row.run] = RunObservations(
            info=RunInfo(row.run, row.start_time, row.stop_time),
            tier0=tier0,
            uploads=attributed.get(row.run, {}),
            dqm=dqm[row.run],
            acks=acks[row.run],
            missing_tags=missing_tags,
            landed_later=landed_later.get(row.run, {}),
            unobserved_by=_unobserved_by(row, tier0),
        )
    return result


def _unobserved_by(row: Row[Any], tier0: Tier0Run | None) -> tuple[Source, ...]:
    """The sources that have not looked at ``row``'s run since it appeared in the store."""
    missing = []
    if tier0 is None:
        missing.append(Source.TIER0)
    if row.era is not None and row.dqm_observed_at is None:
        missing.append(Source.DQM)  # DQM reads a run's histograms only once Tier0 named its era
    return tuple(missing)


def record_dqm_looked(session: Session, runs: Sequence[int], now: datetime) -> None:
    """Note that a successful DQM poll considered ``runs`` (whether or not a histogram was due).

    Only the first look is written: decisions ask whether DQM has looked at all, and rewriting every
    active run on every poll would cost a write per run per cycle for nothing.
    """
    if runs:
        session.execute(update(TrackedRun).where(TrackedRun.run.in_(runs), TrackedRun.dqm_observed_at.is_(None))
                        .values(dqm_observed_at=now),
                        execution_options={"synchronize_session": False})
