"""Recording verdicts: current state per run and workflow, history of changes, release answers."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from spyagency.core.models import RunVerdict, Source
from spyagency.store.database import database_now
from spyagency.store.tables import ReleaseDecision, StateChange, TrackedRun, WorkflowStateRow

log = logging.getLogger(__name__)

def _still_current(session: Session, run: int, version: int) -> bool:
    """Whether ``run``'s facts are still at ``version``; if so, its row stays locked until commit."""
    result = session.execute(update(TrackedRun).where(TrackedRun.run == run, TrackedRun.facts_version == version)
                             .values(facts_version=version), execution_options={"synchronize_session": False})
    return bool(result.rowcount)  # type: ignore[attr-defined]


def save_verdicts(session: Session, verdicts: Sequence[RunVerdict], final: Collection[int],
                  versions: Mapping[int, int] | None = None) -> list[RunVerdict]:
    """Store ``verdicts``; return those whose run state or release answer changed.

    With ``versions`` (the facts version each verdict was made from), a verdict is saved only if
    its run's facts have not changed since: never over facts newer than the ones it read. Runs in
    ``final`` are finalized: never decided again (the rule is ``spyagency.core.finalize``).
    """
    if versions is not None:
        kept = [v for v in verdicts if v.run in versions and _still_current(session, v.run, versions[v.run])]
        for skipped in sorted({v.run for v in verdicts} - {v.run for v in kept}):
            log.info("run %s: facts changed while deciding; its newer verdict stays", skipped)
        verdicts = kept
    if not verdicts:
        return []
    runs = [v.run for v in verdicts]
    saved_at = database_now(session.get_bind().dialect.name)
    tracked = {r.run: r for r in session.scalars(select(TrackedRun).where(TrackedRun.run.in_(runs)))}
    current = {(w.run, w.workflow): w for w in session.scalars(
        select(WorkflowStateRow).where(WorkflowStateRow.run.in_(runs)))}
    changed: list[RunVerdict] = []
    for verdict in verdicts:
        row = tracked[verdict.run]
        now = verdict.decided_at
        _save_workflows(session, verdict, current, now)
        reasons = list(verdict.reasons)
        if row.decided_at is None or row.state != verdict.state.value:
            session.add(StateChange(run=verdict.run, workflow=None, state=verdict.state.value,
                                    reason="; ".join(reasons), source=Source.POLICY.value, at=now))
            changed.append(verdict)
        if row.decided_at is None or row.release != verdict.release:
            session.add(ReleaseDecision(run=verdict.run, release=verdict.release,
                                        state=verdict.state.value, decided_at=now))
            if verdict not in changed:
                changed.append(verdict)
        # the ORM writes only columns whose value changed; decided_at changes every cycle on purpose
        row.state = verdict.state.value
        row.release = verdict.release
        row.reasons = reasons
        row.lock_time = verdict.lock_time
        row.release_time = verdict.release_time
        row.decided_at = now
        row.saved_at = saved_at
        row.awaiting = [source.value for source in verdict.awaiting]
        row.finalized = verdict.run in final
    return changed


def _save_workflows(session: Session, verdict: RunVerdict,
                    current: dict[tuple[int, str], WorkflowStateRow], now: datetime) -> None:
    for wf in verdict.workflows:
        row = current.get((verdict.run, wf.workflow))
        if row is None:
            row = WorkflowStateRow(run=verdict.run, workflow=wf.workflow, since=now)
            session.add(row)
        elif row.state == wf.state.value and row.done == wf.done:
            # unchanged rows are left alone: a cycle writes only what changed
            if row.reason != wf.reason or row.source != wf.source.value:
                row.reason, row.source, row.updated_at = wf.reason, wf.source.value, now
            continue
        session.add(StateChange(run=verdict.run, workflow=wf.workflow, state=wf.state.value,
                                reason=wf.reason, source=wf.source.value, at=now))
        row.state, row.reason, row.source, row.done = wf.state.value, wf.reason, wf.source.value, wf.done
        row.since = now
        row.updated_at = now
