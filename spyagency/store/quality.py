"""The quality watch's numbers: each run's watched DQM values per workflow, and the watch's word on them."""

from __future__ import annotations

import bisect
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from spyagency.core.models import AckKind
from spyagency.core.quality import QualityScore
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


def scored_with(session: Session, runs: Sequence[int]) -> dict[tuple[int, str], str | None]:
    """The outputs of ``runs`` whose numbers are stored, with the key their stored score was computed
    under (None before it is first scored); neither numbers nor scores are read."""
    if not runs:
        return {}
    return {(run, workflow): key for run, workflow, key in session.execute(
        select(QualityValueRow.run, QualityValueRow.workflow, QualityValueRow.scored_with)
        .where(QualityValueRow.run.in_(list(runs))))}


def stored_scores(session: Session, outputs: Collection[tuple[int, str]]) -> dict[tuple[int, str], QualityScore]:
    """The stored scores of ``outputs`` ((run, workflow) pairs) that have one."""
    if not outputs:
        return {}
    wanted = set(outputs)
    return {(run, workflow): QualityScore.from_json(score) for run, workflow, score in session.execute(
        select(QualityValueRow.run, QualityValueRow.workflow, QualityValueRow.score)
        .where(QualityValueRow.run.in_(sorted({run for run, _workflow in wanted})),
               QualityValueRow.score.is_not(None)))
        if (run, workflow) in wanted}


def values_by_run(session: Session, workflow: str, runs: Collection[int]) -> dict[int, dict[str, float]]:
    """The stored numbers of ``workflow``'s outputs of ``runs``."""
    if not runs:
        return {}
    found: dict[int, dict[str, float]] = {}
    ordered = sorted(runs)
    for start in range(0, len(ordered), 500):  # bounded IN lists (Oracle allows 1,000)
        for run, values in session.execute(select(QualityValueRow.run, QualityValueRow.values).where(
                QualityValueRow.workflow == workflow, QualityValueRow.run.in_(ordered[start:start + 500]))):
            found[run] = {str(k): float(v) for k, v in values.items()}
    return found


def history_windows(session: Session, workflow: str, runs: Sequence[int], limit: int) -> dict[int, tuple[int, ...]]:
    """For each of ``runs``, the up to ``limit`` earlier runs its output of ``workflow`` is compared with,
    oldest first. Outputs the watch called unusual are left out unless an expert's latest word on them
    accepts them. Only run numbers and statuses are read: the numbers are read for what must be scored."""
    if not runs:
        return {}
    low, high = min(runs), max(runs)
    base = select(QualityValueRow.run, QualityValueRow.status).where(QualityValueRow.workflow == workflow)
    rows = list(session.execute(base.where(QualityValueRow.run >= low, QualityValueRow.run < high)
                                .order_by(QualityValueRow.run.desc())))
    rows += session.execute(base.where(QualityValueRow.run < low).order_by(QualityValueRow.run.desc())
                            .limit(limit * 2))
    flagged = [run for run, status in rows if status == UNUSUAL]
    latest: dict[int, str] = {}
    if flagged:  # only the acknowledgements of the flagged runs read here, latest last
        for run, kind in session.execute(select(AckRow.run, AckRow.kind).where(
                AckRow.workflow == workflow, AckRow.run.in_(flagged)).order_by(AckRow.id)):
            latest[run] = kind
    newest_first = [run for run, _status in rows]
    kept = [i for i, (run, status) in enumerate(rows)
            if status != UNUSUAL or latest.get(run, AckKind.HOLD.value) != AckKind.HOLD.value]
    found: dict[int, tuple[int, ...]] = {}
    for before_run in runs:
        # rows are newest first: the earlier runs start where the run numbers fall below before_run;
        # the window is the first ``limit`` kept rows among the next ``2 * limit`` rows
        start = bisect.bisect_left(newest_first, -before_run + 1, key=lambda run: -run)
        first, end = bisect.bisect_left(kept, start), bisect.bisect_left(kept, start + limit * 2)
        found[before_run] = tuple(newest_first[i] for i in kept[first:min(end, first + limit)])[::-1]
    return found


def record_scores(session: Session, scored: Mapping[tuple[int, str], tuple[str, QualityScore]]) -> None:
    """Store the watch's score (and word) on each (run, workflow), with the key it was computed under."""
    if not scored:
        return
    runs = sorted({run for run, _workflow in scored})
    for row in session.scalars(select(QualityValueRow).where(QualityValueRow.run.in_(runs))):
        found = scored.get((row.run, row.workflow))
        if found is not None:
            row.scored_with, row.score, row.status = found[0], found[1].to_json(), found[1].status.value


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
