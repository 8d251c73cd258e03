"""Records of what people told SpyAgency: acknowledgements and steering overrides. Never updated or deleted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from spyagency.core.models import AckRecord, OverrideRecord, ResumeOverride
from spyagency.errors import UnknownRun
from spyagency.store.observations import bump_facts
from spyagency.store.tables import AckRow, SteeringOverrideRow, Tier0GlobalRow, TrackedRun, WorkflowStateRow

#: The override kind that lets Tier0 release a run (the other, ``withdraw``, takes that back).
RESUME_KIND = "resume"


def _require_tracked(session: Session, run: int) -> None:
    if session.get(TrackedRun, run) is None:
        raise UnknownRun(f"run {run} is not tracked by SpyAgency")


def _ack(row: AckRow) -> AckRecord:
    return AckRecord(row.id, row.run, row.workflow, row.kind, row.author, row.comment, row.created_at,
                     row.answered_state)


def _override(row: SteeringOverrideRow) -> OverrideRecord:
    return OverrideRecord(row.id, row.run, row.kind, row.author, row.comment, row.created_at)


def add_acknowledgement(session: Session, *, run: int, workflow: str, kind: str, author: str, comment: str,
                        now: datetime, answered_state: str | None = None) -> AckRecord:
    """Record an acknowledgement of a tracked run (and the workflow state it answered); its facts are
    newer from now on."""
    _require_tracked(session, run)
    row = AckRow(run=run, workflow=workflow, kind=kind, author=author, comment=comment, created_at=now,
                 answered_state=answered_state)
    session.add(row)
    bump_facts(session, [run])
    session.flush()
    return _ack(row)


@dataclass(frozen=True)
class RunAsDecided:
    """What an acknowledgement or override answers: the run's stored decision and Tier0's line."""

    configured_producers: frozenset[str]  # every producer Tier0 configured for the run's express streams
    workflow_states: dict[str, str]  # workflow → its stored state
    first_conditions_safe_run: int | None  # Tier0 has locked every run below it


def run_as_decided(session: Session, run: int) -> RunAsDecided:
    """The stored facts a person's word on ``run`` is checked against (raises UnknownRun)."""
    row = session.get(TrackedRun, run)
    if row is None:
        raise UnknownRun(f"run {run} is not tracked by SpyAgency")
    states = {w.workflow: w.state for w in session.scalars(select(WorkflowStateRow)
                                                          .where(WorkflowStateRow.run == run))}
    producers = frozenset(p for names in (row.express_producers or {}).values() for p in names)
    fcsr = session.get(Tier0GlobalRow, 1)
    return RunAsDecided(producers, states, fcsr.first_conditions_safe_run if fcsr else None)


def acknowledgements(session: Session, run: int) -> list[AckRecord]:
    """Every acknowledgement of ``run``, oldest first."""
    return [_ack(row) for row in session.scalars(select(AckRow).where(AckRow.run == run).order_by(AckRow.id))]


def add_override(session: Session, *, run: int, kind: str, author: str, comment: str,
                 now: datetime) -> OverrideRecord:
    """Record an operator's override of a tracked run."""
    _require_tracked(session, run)
    row = SteeringOverrideRow(run=run, kind=kind, author=author, comment=comment, created_at=now)
    session.add(row)
    session.flush()
    return _override(row)


def overrides_for(session: Session, run: int) -> list[OverrideRecord]:
    """Every override recorded for ``run``, oldest first."""
    return [_override(row) for row in session.scalars(select(SteeringOverrideRow).where(
        SteeringOverrideRow.run == run).order_by(SteeringOverrideRow.id))]


def active_resumes(session: Session, runs: Sequence[int], at: datetime | None = None) -> dict[int, ResumeOverride]:
    """Runs of ``runs`` whose latest override (made by ``at``, if given) is a resume, with it."""
    found: dict[int, ResumeOverride] = {}
    for run in runs:
        query = select(SteeringOverrideRow).where(SteeringOverrideRow.run == run)
        if at is not None:
            query = query.where(SteeringOverrideRow.created_at <= at)
        latest = session.scalars(query.order_by(SteeringOverrideRow.id.desc()).limit(1)).first()
        if latest is not None and latest.kind == RESUME_KIND:
            found[run] = ResumeOverride(latest.author, latest.comment, latest.created_at)
    return found


def override_history(session: Session, until: datetime) -> list[tuple[datetime, int, ResumeOverride | None]]:
    """Every steering override made by ``until``, oldest first: (made at, run, the resume it stands for, or
    None for a withdrawal)."""
    return [(row.created_at, row.run,
             ResumeOverride(row.author, row.comment, row.created_at) if row.kind == RESUME_KIND else None)
            for row in session.scalars(select(SteeringOverrideRow).where(SteeringOverrideRow.created_at <= until)
                                       .order_by(SteeringOverrideRow.created_at, SteeringOverrideRow.id))]
