"""Writing observations into the store, and reading them back as decision input."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..models import (
    Acknowledgement,
    AckKind,
    DqmCheck,
    DqmOutcome,
    RunInfo,
    RunObservations,
    Source,
    SourceHealth,
    Tier0Global,
    Tier0Run,
    Upload,
)
from .tables import AckRow, DqmRow, SourceStatusRow, Tier0GlobalRow, TrackedRun, UploadRow


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


def record_failure(session: Session, source: Source, now: datetime, error: str) -> None:
    """Mark a source as failed at ``now``; its data stops counting until it answers again."""
    row = _source_row(session, source)
    row.last_error = error
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
            session.add(TrackedRun(run=info.run, start_time=info.start_time, stop_time=info.stop_time,
                                   first_seen=now, express_producers={}, streams_done={}, reasons=[]))
            added += 1
        elif row.stop_time != info.stop_time:
            row.stop_time = info.stop_time
    return added


def active_runs(session: Session) -> list[int]:
    """Runs whose verdict may still change (Tier0 has not locked them)."""
    return list(session.scalars(select(TrackedRun.run).where(TrackedRun.finalized.is_(False))
                                .order_by(TrackedRun.run)))


def open_runs(session: Session) -> list[int]:
    """Active runs without a stop time yet."""
    return list(session.scalars(select(TrackedRun.run).where(
        TrackedRun.finalized.is_(False), TrackedRun.stop_time.is_(None))))


def record_tier0_run(session: Session, observed: Tier0Run) -> None:
    row = session.get(TrackedRun, observed.run)
    if row is None:
        return
    row.tier0_known = observed.known
    row.era = observed.era
    row.express_producers = {s: sorted(p) for s, p in observed.express_producers.items()}
    row.streams_done = dict(observed.streams_done)
    row.tier0_observed_at = observed.observed_at


def record_tier0_global(session: Session, observed: Tier0Global) -> None:
    row = session.get(Tier0GlobalRow, 1) or Tier0GlobalRow(id=1)
    row.first_conditions_safe_run = observed.first_conditions_safe_run
    row.promptreco_enabled = observed.promptreco_enabled
    row.observed_at = observed.observed_at
    session.merge(row)


def tier0_global(session: Session) -> Tier0Global:
    row = session.get(Tier0GlobalRow, 1)
    if row is None:
        return Tier0Global(None, None, None)
    return Tier0Global(row.first_conditions_safe_run, row.promptreco_enabled, row.observed_at)


def add_uploads(session: Session, uploads: Sequence[Upload], now: datetime) -> int:
    """Store uploads grouped per (tag, run, since run, insertion); skip ones already stored."""
    groups: dict[tuple[str, int, int, datetime], list[Upload]] = defaultdict(list)
    for upload in uploads:
        groups[(upload.tag, upload.for_run, upload.since_run, upload.inserted_at)].append(upload)
    if not groups:
        return 0
    runs = {key[1] for key in groups}
    existing = {
        (r.tag, r.for_run, r.since_run, r.inserted_at): r
        for r in session.scalars(select(UploadRow).where(UploadRow.for_run.in_(runs)))
    }
    added = 0
    for key, members in groups.items():
        first = min(members, key=lambda u: u.since)
        row = existing.get(key)
        if row is None:
            session.add(UploadRow(tag=key[0], for_run=key[1], since_run=key[2], first_since=first.since,
                                  iov_count=len(members), payload_hash=first.payload_hash,
                                  inserted_at=key[3], observed_at=now))
            added += 1
        elif len(members) > row.iov_count:  # the overlap window saw more of the same upload
            row.iov_count = len(members)
            row.first_since = min(row.first_since, first.since)
    return added


def record_dqm(session: Session, check: DqmCheck) -> None:
    session.merge(DqmRow(run=check.run, workflow=check.workflow, outcome=check.outcome.value,
                         detail=check.detail, observed_at=check.observed_at))


def conclusive_dqm(session: Session, runs: Iterable[int]) -> set[tuple[int, str]]:
    """(run, workflow) pairs whose DQM reading is final and need not be fetched again."""
    final = [o.value for o in DqmOutcome if o is not DqmOutcome.NOT_AVAILABLE]
    rows = session.execute(select(DqmRow.run, DqmRow.workflow).where(
        DqmRow.run.in_(list(runs)), DqmRow.outcome.in_(final)))
    return {(run, wf) for run, wf in rows}


def mark_finalized(session: Session, runs: Iterable[int]) -> None:
    runs = list(runs)
    if runs:
        session.execute(update(TrackedRun).where(TrackedRun.run.in_(runs)).values(finalized=True))


def load_observations(session: Session, runs: Sequence[int],
                      missing_tags: frozenset[str] = frozenset()) -> dict[int, RunObservations]:
    """Rebuild the decision input for ``runs`` from what the store holds."""
    if not runs:
        return {}
    tracked = session.scalars(select(TrackedRun).where(TrackedRun.run.in_(runs))).all()
    uploads: dict[int, dict[str, list[Upload]]] = defaultdict(lambda: defaultdict(list))
    columns = (UploadRow.tag, UploadRow.first_since, UploadRow.since_run, UploadRow.for_run,
               UploadRow.payload_hash, UploadRow.inserted_at)
    for tag, first_since, since_run, for_run, payload_hash, inserted_at in session.execute(
            select(*columns).where(UploadRow.for_run.in_(runs))):  # plain rows: no ORM objects to build
        uploads[for_run][tag].append(Upload(tag, first_since, since_run, for_run, payload_hash, inserted_at))
    dqm: dict[int, dict[str, DqmCheck]] = defaultdict(dict)
    for row in session.scalars(select(DqmRow).where(DqmRow.run.in_(runs))):
        dqm[row.run][row.workflow] = DqmCheck(row.run, row.workflow, DqmOutcome(row.outcome),
                                              row.detail, row.observed_at)
    acks: dict[int, dict[str, Acknowledgement]] = defaultdict(dict)
    for row in session.scalars(select(AckRow).where(AckRow.run.in_(runs)).order_by(AckRow.id)):
        acks[row.run][row.workflow] = Acknowledgement(row.run, row.workflow, AckKind(row.kind),
                                                      row.author, row.comment, row.created_at)
    result: dict[int, RunObservations] = {}
    for row in tracked:
        tier0 = None
        if row.tier0_observed_at is not None:
            tier0 = Tier0Run(
                run=row.run, known=row.tier0_known, era=row.era,
                express_producers={s: frozenset(p) for s, p in row.express_producers.items()},
                streams_done=dict(row.streams_done), observed_at=row.tier0_observed_at)
        result[row.run] = RunObservations(
            info=RunInfo(row.run, row.start_time, row.stop_time),
            tier0=tier0,
            uploads={tag: tuple(items) for tag, items in uploads[row.run].items()},
            dqm=dqm[row.run],
            acks=acks[row.run],
            missing_tags=missing_tags,
        )
    return result
