"""The quality watch's numbers: each run's watched DQM values per workflow, and the watch's word on them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from spyagency.core.models import AckKind
from spyagency.store.tables import AckRow, QualityValueRow

#: The status of an output the watch called unusual: it stays out of later histories unless accepted.
UNUSUAL = "unusual"


def record_values(session: Session, run: int, workflow: str, values: Mapping[str, float], now: datetime) -> None:
    """Store the watched numbers of ``run``'s output of ``workflow`` (read once; a repeat is ignored)."""
    if session.scalar(select(QualityValueRow.id).where(QualityValueRow.run == run,
                                                       QualityValueRow.workflow == workflow)) is None:
        session.add(QualityValueRow(run=run, workflow=workflow, values=dict(values), observed_at=now))


def read_pairs(session: Session, runs: Sequence[int]) -> set[tuple[int, str]]:
    """(run, workflow) pairs of ``runs`` whose numbers are stored."""
    if not runs:
        return set()
    return {(run, workflow) for run, workflow in session.execute(
        select(QualityValueRow.run, QualityValueRow.workflow).where(QualityValueRow.run.in_(list(runs))))}


def values_of(session: Session, runs: Sequence[int]) -> dict[tuple[int, str], dict[str, float]]:
    """The stored numbers of ``runs``, by (run, workflow)."""
    if not runs:
        return {}
    return {(row.run, row.workflow): {str(k): float(v) for k, v in row.values.items()}
            for row in session.scalars(select(QualityValueRow).where(QualityValueRow.run.in_(list(runs))))}


def history(session: Session, workflow: str, before_run: int, limit: int) -> list[tuple[int, dict[str, float]]]:
    """The numbers of ``workflow`` for up to ``limit`` runs before ``before_run``, oldest first; outputs the
    watch called unusual are left out unless an expert's latest word on them accepts them."""
    return histories(session, workflow, [before_run], limit)[before_run]


def histories(session: Session, workflow: str, runs: Sequence[int],
              limit: int) -> dict[int, list[tuple[int, dict[str, float]]]]:
    """``history`` of each of ``runs`` at once: two queries for the workflow, not two per run."""
    if not runs:
        return {}
    low, high = min(runs), max(runs)
    base = select(QualityValueRow).where(QualityValueRow.workflow == workflow)
    rows = list(session.scalars(base.where(QualityValueRow.run >= low, QualityValueRow.run < high)
                                .order_by(QualityValueRow.run.desc())))
    rows += session.scalars(base.where(QualityValueRow.run < low).order_by(QualityValueRow.run.desc())
                            .limit(limit * 2))
    flagged = [row.run for row in rows if row.status == UNUSUAL]
    latest: dict[int, str] = {}
    if flagged:  # only the acknowledgements of the flagged runs read here, latest last
        for run, kind in session.execute(select(AckRow.run, AckRow.kind).where(
                AckRow.workflow == workflow, AckRow.run.in_(flagged)).order_by(AckRow.id)):
            latest[run] = kind
    kept = [(row.run, row.status != UNUSUAL or latest.get(row.run, AckKind.HOLD.value) != AckKind.HOLD.value,
             {str(k): float(v) for k, v in row.values.items()}) for row in rows]  # newest first
    found: dict[int, list[tuple[int, dict[str, float]]]] = {}
    for before_run in runs:
        earlier = [item for item in kept if item[0] < before_run][:limit * 2]
        found[before_run] = [(run, values) for run, keep, values in earlier if keep][:limit][::-1]
    return found


def record_status(session: Session, statuses: Mapping[tuple[int, str], str]) -> None:
    """Save the watch's word on each (run, workflow) whose numbers are stored."""
    if not statuses:
        return
    runs = sorted({run for run, _workflow in statuses})
    for row in session.scalars(select(QualityValueRow).where(QualityValueRow.run.in_(runs))):
        status = statuses.get((row.run, row.workflow))
        if status is not None and row.status != status:
            row.status = status


def statuses(session: Session, runs: Sequence[int]) -> dict[tuple[int, str], str]:
    """The watch's stored word on each (run, workflow) of ``runs`` it has judged."""
    if not runs:
        return {}
    return {(run, workflow): str(status) for run, workflow, status in session.execute(
        select(QualityValueRow.run, QualityValueRow.workflow, QualityValueRow.status)
        .where(QualityValueRow.run.in_(list(runs)), QualityValueRow.status.is_not(None)))}


def unusual(session: Session, limit: int = 20) -> list[tuple[int, str]]:
    """The latest (run, workflow) outputs the watch called unusual, newest first."""
    return [(run, workflow) for run, workflow in session.execute(
        select(QualityValueRow.run, QualityValueRow.workflow).where(QualityValueRow.status == UNUSUAL)
        .order_by(QualityValueRow.run.desc()).limit(limit))]
