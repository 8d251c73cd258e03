"""The decision records: each distinct decision of a run with the facts it was made from (append-only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from spyagency.core.codec import decode, encode
from spyagency.core.models import LineRun, RunVerdict
from spyagency.core.replay import DecisionInputs, verdict_digest
from spyagency.policy import Policy
from spyagency.store.queries import SOURCE_NAMES
from spyagency.store.tables import DecisionRecord, FcsrSpanRow


@dataclass(frozen=True)
class RecordedDecision:
    """One stored decision: when, under which policy, from which facts, and what it said."""

    id: int
    run: int
    decided_at: datetime
    policy: str
    inputs: DecisionInputs
    verdict: RunVerdict


def policy_label(policy: Policy) -> str:
    return f"{policy.name} v{policy.version}"


def record_decisions(session: Session, decided: Sequence[tuple[DecisionInputs, RunVerdict]], policy: Policy) -> int:
    """Keep each decision that says something other than its run's previous record; return how many."""
    if not decided:
        return 0
    runs = [verdict.run for _inputs, verdict in decided]
    newest = (select(DecisionRecord.run, func.max(DecisionRecord.id).label("id"))
              .where(DecisionRecord.run.in_(runs)).group_by(DecisionRecord.run).subquery())
    last = dict(session.execute(select(DecisionRecord.run, DecisionRecord.digest)
                                .join(newest, DecisionRecord.id == newest.c.id)).all())
    label = policy_label(policy)
    kept = 0
    for inputs, verdict in decided:
        digest = verdict_digest(verdict)
        if last.get(verdict.run) == digest:
            continue
        session.add(DecisionRecord(run=verdict.run, decided_at=verdict.decided_at, policy=label, digest=digest,
                                   inputs=inputs.to_json(), verdict=encode(verdict)))
        kept += 1
    return kept


def _recorded(row: DecisionRecord) -> RecordedDecision:
    return RecordedDecision(row.id, row.run, row.decided_at, row.policy, DecisionInputs.from_json(row.inputs),
                            decode(RunVerdict, row.verdict))


def decision_at(session: Session, run: int, at: datetime) -> RecordedDecision | None:
    """The decision of ``run`` in force at ``at``: its latest record made then or before."""
    row = session.scalars(select(DecisionRecord).where(DecisionRecord.run == run, DecisionRecord.decided_at <= at)
                          .order_by(DecisionRecord.decided_at.desc(), DecisionRecord.id.desc()).limit(1)).first()
    return _recorded(row) if row else None


def decision_times(session: Session, run: int) -> list[datetime]:
    """When ``run``'s decision changed, oldest first."""
    return list(session.scalars(select(DecisionRecord.decided_at).where(DecisionRecord.run == run)
                                .order_by(DecisionRecord.decided_at, DecisionRecord.id)))


def decisions_between(session: Session, start: datetime, end: datetime) -> list[RecordedDecision]:
    """Every decision recorded in [start, end], in time order."""
    return [_recorded(row) for row in session.scalars(
        select(DecisionRecord).where(DecisionRecord.decided_at >= start, DecisionRecord.decided_at <= end)
        .order_by(DecisionRecord.decided_at, DecisionRecord.id))]


def prune(session: Session, before: datetime) -> int:
    """Drop records older than ``before``, but never a run's latest (what a kept decision rests on)."""
    newest = select(func.max(DecisionRecord.id)).group_by(DecisionRecord.run)
    result = session.execute(delete(DecisionRecord).where(DecisionRecord.decided_at < before,
                                                         DecisionRecord.id.not_in(newest)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def decisions_in_force(session: Session, at: datetime, from_run: int | None) -> list[RecordedDecision]:
    """The decision in force at ``at`` of every run from ``from_run`` on (all runs if None): each run's latest
    record made then or before."""
    newest = (select(func.max(DecisionRecord.id).label("id")).where(DecisionRecord.decided_at <= at)
              .group_by(DecisionRecord.run).subquery())
    query = select(DecisionRecord).join(newest, DecisionRecord.id == newest.c.id)
    if from_run is not None:
        query = query.where(DecisionRecord.run >= from_run)
    return [_recorded(row) for row in session.scalars(query.order_by(DecisionRecord.run))]


def fcsr_at(session: Session, at: datetime) -> int | None:
    """The first conditions-safe run SpyAgency had seen by ``at``."""
    span = session.scalars(select(FcsrSpanRow).where(FcsrSpanRow.first_seen <= at)
                           .order_by(FcsrSpanRow.first_seen.desc(), FcsrSpanRow.id.desc()).limit(1)).first()
    return span.value if span is not None else None


def line_at(session: Session, at: datetime, length: int) -> tuple[int | None, list[LineRun]]:
    """Tier0's line as it stood at ``at``: the first conditions-safe run then, and the decisions in force then
    of the runs from it on (the first ``length``), as steering read them."""
    first_safe = fcsr_at(session, at)
    newest = (select(func.max(DecisionRecord.id).label("id")).where(DecisionRecord.decided_at <= at)
              .group_by(DecisionRecord.run).subquery())
    query = select(DecisionRecord).join(newest, DecisionRecord.id == newest.c.id)
    if first_safe is not None:
        query = query.where(DecisionRecord.run >= first_safe)
    line = []
    for row in session.scalars(query.order_by(DecisionRecord.run).limit(length)):
        verdict: RunVerdict = decode(RunVerdict, row.verdict)
        line.append(LineRun(verdict.run, verdict.release, verdict.lock_time, verdict.decided_at, verdict.reasons,
                            tuple(SOURCE_NAMES.get(s.value, s.value) for s in verdict.awaiting)))
    return first_safe, line
