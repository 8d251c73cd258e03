"""Read models of the store: run summaries, workflow states, history, acknowledgements."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from spyagency.core.certificate import ShownCertificate
from spyagency.core.models import (
    LineRun,
    RunState,
    RunSummary,
    Source,
    SourceHealth,
    StateChangeRecord,
    Upload,
    WorkflowState,
    WorkflowStatus,
)
from spyagency.store.tables import (
    ReleaseDecision,
    SourceStatusRow,
    StateChange,
    Tier0GlobalRow,
    TrackedRun,
    UploadRow,
    WorkflowStateRow,
)


def _summary(row: TrackedRun, workflows: list[WorkflowStateRow]) -> RunSummary:
    return RunSummary(
        run=row.run, state=row.state, release=row.release, reasons=tuple(row.reasons or ()),
        start_time=row.start_time, stop_time=row.stop_time, lock_time=row.lock_time,
        release_time=row.release_time, decided_at=row.decided_at, era=row.era,
        express_versions=dict(row.express_versions or {}),
        express_producers={stream: frozenset(producers) for stream, producers in (row.express_producers or {}).items()},
        workflows=tuple(_workflow(w) for w in workflows),
    )


def _workflow(w: WorkflowStateRow) -> WorkflowStatus:
    return WorkflowStatus(w.workflow, w.state, w.reason, w.source, w.done, w.since)


def list_runs(session: Session, *, state: RunState | None = None, min_run: int | None = None,
              max_run: int | None = None, limit: int = 50, before_run: int | None = None,
              with_workflows: bool = True) -> list[RunSummary]:
    """Decided runs, newest first; ``before_run`` continues a previous page."""
    query = select(TrackedRun).where(TrackedRun.decided_at.is_not(None))
    if state is not None:
        query = query.where(TrackedRun.state == state.value)
    if min_run is not None:
        query = query.where(TrackedRun.run >= min_run)
    if max_run is not None:
        query = query.where(TrackedRun.run <= max_run)
    if before_run is not None:
        query = query.where(TrackedRun.run < before_run)
    rows = session.scalars(query.order_by(TrackedRun.run.desc()).limit(limit)).all()
    workflows: dict[int, list[WorkflowStateRow]] = defaultdict(list)
    if with_workflows and rows:
        for w in session.scalars(select(WorkflowStateRow).where(
                WorkflowStateRow.run.in_([r.run for r in rows])).order_by(WorkflowStateRow.workflow)):
            workflows[w.run].append(w)
    return [_summary(r, workflows[r.run]) for r in rows]


def get_run(session: Session, run: int) -> RunSummary | None:
    """One run with its workflows, or None if SpyAgency has not decided it."""
    row = session.get(TrackedRun, run)
    if row is None or row.decided_at is None:
        return None
    workflows = session.scalars(select(WorkflowStateRow).where(WorkflowStateRow.run == run)
                                .order_by(WorkflowStateRow.workflow)).all()
    return _summary(row, list(workflows))


def next_in_line(session: Session, look_ahead: int = 50) -> RunSummary | None:
    """The next run Tier0 will lock: the first decided, unreleased run of its line (from its first
    conditions-safe run; runs Tier0 says it does not know are not in the line)."""
    for entry in tier0_line(session, look_ahead):
        summary = get_run(session, entry.run)
        if summary is not None and summary.state != RunState.RELEASED.value:
            return summary
    return None


def history(session: Session, run: int) -> list[StateChangeRecord]:
    """Every state change of a run and its workflows, oldest first."""
    return [StateChangeRecord(c.run, c.workflow, c.state, c.reason, c.source, c.at) for c in session.scalars(
        select(StateChange).where(StateChange.run == run).order_by(StateChange.id))]


def uploads_in(session: Session, runs: Sequence[int]) -> list[Upload]:
    """Every stored upload whose since lies in one of ``runs``, oldest insertion first."""
    if not runs:
        return []
    return [Upload(r.tag, r.first_since, r.since_run, r.payload_hash, r.inserted_at) for r in session.scalars(
        select(UploadRow).where(UploadRow.since_run.in_(list(runs))).order_by(UploadRow.inserted_at))]


def release_decisions(session: Session, run: int) -> list[ReleaseDecision]:
    return list(session.scalars(select(ReleaseDecision).where(ReleaseDecision.run == run)
                                .order_by(ReleaseDecision.id)))


def runs_by_state(session: Session) -> Counter[str]:
    rows = session.execute(select(TrackedRun.state, func.count()).where(TrackedRun.decided_at.is_not(None))
                           .group_by(TrackedRun.state))
    return Counter({state: count for state, count in rows})


@dataclass(frozen=True)
class SourceStatus:
    """What SpyAgency knows of a source's latest answers."""

    source: str
    last_success: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    failing: bool
    last_duration_s: float | None
    certificate: ShownCertificate | None = None  # the grid certificate it is shown (HTTPS sources)

    def health(self) -> SourceHealth:
        """The part the readiness decision reads."""
        return SourceHealth(Source(self.source), self.last_success, self.last_error, self.last_error_at,
                            self.failing)


def source_statuses(session: Session) -> list[SourceStatus]:
    """Every polled source's status, by name."""
    return [SourceStatus(r.source, r.last_success, r.last_error, r.last_error_at, bool(r.failing),
                         r.last_duration_s, ShownCertificate.from_record(r.identity))
            for r in session.scalars(select(SourceStatusRow).order_by(SourceStatusRow.source))]


def release_decision_counts(session: Session) -> dict[bool, int]:
    """How many release answers were recorded, by answer."""
    rows = session.execute(select(ReleaseDecision.release, func.count()).group_by(ReleaseDecision.release))
    return {bool(release): int(count) for release, count in rows}


def check_integrity(session: Session) -> None:
    """Read real pages of the tables the release API serves from: a corrupt store raises here, cheaply."""
    session.execute(text("SELECT version_num FROM alembic_version")).all()
    session.execute(text("SELECT run, state, release FROM runs ORDER BY run DESC LIMIT 5")).all()


#: How reasons name the sources.
SOURCE_NAMES = {"tier0": "the Tier0 Data Service", "dqm": "the DQM GUI", "conddb": "the CondDB"}


def tier0_line(session: Session, length: int) -> list[LineRun]:
    """The first ``length`` runs of Tier0's line, from its first conditions-safe run (or the first
    unfinished run when Tier0 has not said), with their stored verdicts."""
    tier0 = session.get(Tier0GlobalRow, 1)
    first_safe = tier0.first_conditions_safe_run if tier0 else None
    # a run Tier0 said it does not know is not in its line; one Tier0 never answered about may be
    in_tier0 = ~(TrackedRun.tier0_known.is_(False) & TrackedRun.tier0_observed_at.is_not(None)
                 & TrackedRun.tier0_error.is_(None))
    query = select(TrackedRun).where(in_tier0)
    if first_safe is not None:
        query = query.where(TrackedRun.run >= first_safe)
    else:
        query = query.where(TrackedRun.finalized.is_(False))
    rows = session.scalars(query.order_by(TrackedRun.run).limit(length)).all()
    return [LineRun(r.run, r.release, r.lock_time, r.decided_at, tuple(r.reasons or ()),
                    tuple(SOURCE_NAMES.get(s, s) for s in r.awaiting or ())) for r in rows]


@dataclass(frozen=True)
class UnlockedRun:
    """An unfinished run with a lock time: what warnings and sign-off questions are planned from."""

    run: int
    state: str
    lock_time: datetime
    awaiting: tuple[str, ...]  # sources that have not looked at it yet: its verdict is provisional


def unlocked_runs_with_lock(session: Session, state: RunState | None = None) -> list[UnlockedRun]:
    """Unfinished runs whose lock time is known (only those in ``state`` if given), in run order."""
    query = select(TrackedRun).where(TrackedRun.finalized.is_(False), TrackedRun.lock_time.is_not(None))
    if state is not None:
        query = query.where(TrackedRun.state == state.value)
    return [UnlockedRun(r.run, r.state, r.lock_time, tuple(r.awaiting or ()))
            for r in session.scalars(query.order_by(TrackedRun.run)) if r.lock_time is not None]


def blocking_workflows(session: Session, run: int, states: Sequence[str] | None = None) -> list[WorkflowStatus]:
    """The workflows that keep ``run`` from being ready (only those in ``states`` if given), by name."""
    query = select(WorkflowStateRow).where(WorkflowStateRow.run == run, WorkflowStateRow.done.is_(False))
    if states is not None:
        query = query.where(WorkflowStateRow.state.in_(list(states)))
    return [_workflow(w) for w in session.scalars(query.order_by(WorkflowStateRow.workflow))]


def workflow_states(session: Session, run: int) -> dict[str, WorkflowStatus]:
    """Every stored workflow state of ``run``, by workflow."""
    return {w.workflow: _workflow(w) for w in session.scalars(
        select(WorkflowStateRow).where(WorkflowStateRow.run == run))}


@dataclass(frozen=True)
class CalibrationSeen:
    """One workflow of one stopped run, as the store knows it: when it stopped, when its calibration
    first landed in the run (None: not yet), and its stored state."""

    run: int
    workflow: str
    stop: datetime
    landed: datetime | None
    state: str | None
    express_done: datetime | None = None  # when the workflow was first seen harvesting: its express was done


def calibrations_seen(session: Session, tags: dict[str, str], up_to_run: int, runs: int) -> list[CalibrationSeen]:
    """The ``runs`` most recent stopped runs up to ``up_to_run``, each with every workflow of ``tags``
    (destination tag → workflow), oldest first."""
    rows = session.execute(select(TrackedRun.run, TrackedRun.stop_time).where(
        TrackedRun.run <= up_to_run, TrackedRun.stop_time.is_not(None))
        .order_by(TrackedRun.run.desc()).limit(runs)).all()
    numbers = [run for run, _stop in rows]
    first: dict[tuple[str, int], datetime] = {}
    for upload in uploads_in(session, numbers):
        if upload.tag in tags:
            first.setdefault((tags[upload.tag], upload.since_run), upload.inserted_at)
    states = {(w.run, w.workflow): w.state for w in session.scalars(
        select(WorkflowStateRow).where(WorkflowStateRow.run.in_(numbers)))} if numbers else {}
    harvesting: dict[tuple[int, str], datetime] = {}
    if numbers:
        for run, workflow, at in session.execute(
                select(StateChange.run, StateChange.workflow, func.min(StateChange.at))
                .where(StateChange.run.in_(numbers), StateChange.state == WorkflowState.HARVESTING.value)
                .group_by(StateChange.run, StateChange.workflow)):
            if workflow is not None and at is not None:
                harvesting[(run, workflow)] = at if at.tzinfo else at.replace(tzinfo=UTC)
    return [CalibrationSeen(run, workflow, stop, first.get((workflow, run)), states.get((run, workflow)),
                            harvesting.get((run, workflow)))
            for run, stop in reversed(rows) if stop is not None for workflow in tags.values()]
