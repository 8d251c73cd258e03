"""Recording verdicts: current state per run and workflow, history of changes, release answers."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select, tuple_, update
from sqlalchemy.orm import Session

from spyagency.core.models import RunState, RunVerdict, Source
from spyagency.store.database import database_now
from spyagency.store.tables import ReleaseDecision, StateChange, TrackedRun, WorkflowStateRow

log = logging.getLogger(__name__)


def _still_current(session: Session, versions: Mapping[int, int]) -> set[int]:
    """The runs whose facts are still at the version given; their rows stay locked until commit."""
    if not versions:
        return set()
    pairs = list(versions.items())
    return set(session.scalars(
        update(TrackedRun).where(tuple_(TrackedRun.run, TrackedRun.facts_version).in_(pairs))
        .values(facts_version=TrackedRun.facts_version).returning(TrackedRun.run),
        execution_options={"synchronize_session": False}))


def withhold(session: Session, run: int, reason: str, now: datetime) -> None:
    """A hold's effect on the stored answer, written in the hold's own transaction: from its commit on the
    run is not released, whatever decide pass is running meanwhile (a pass that read older facts is not
    saved over it, and the run's full re-decision follows)."""
    row = session.get(TrackedRun, run)
    if row is None or not row.release:
        return
    row.release = False
    row.state = RunState.NOT_READY.value
    row.reasons = [reason, *(row.reasons or [])]
    session.add(ReleaseDecision(run=run, release=False, state=RunState.NOT_READY.value, decided_at=now))


class Saved(NamedTuple):
    """What ``save_verdicts`` did: the verdicts whose run state or release answer changed, and the runs
    whose verdict was not saved because their facts changed since they were read."""

    changed: list[RunVerdict]
    stale: tuple[int, ...] = ()


def save_verdicts(session: Session, verdicts: Sequence[RunVerdict], final: Collection[int],
                  versions: Mapping[int, int] | None = None) -> Saved:
    """Store ``verdicts``; say which changed a run's state or release answer, and which were not saved.

    With ``versions`` (the facts version each verdict was made from), a verdict is saved only if
    its run's facts have not changed since: never over facts newer than the ones it read. Runs in
    ``final`` are finalized: never decided again (the rule is ``spyagency.core.finalize``).
    """
    stale: tuple[int, ...] = ()
    if versions is not None:
        unchanged = _still_current(session, {v.run: versions[v.run] for v in verdicts if v.run in versions})
        kept = [v for v in verdicts if v.run in unchanged]
        stale = tuple(sorted({v.run for v in verdicts} - {v.run for v in kept}))
        for skipped in stale:
            log.info("run %s: facts changed while deciding; its newer verdict stays", skipped)
        verdicts = kept
    if not verdicts:
        return Saved([], stale)
    runs = [v.run for v in verdicts]
    saved_at = database_now(session.get_bind().dialect.name)
    # only what the comparison needs: the run rows are rewritten below, by primary key, in one statement
    stored = {run: (state, release, decided_at) for run, state, release, decided_at in session.execute(
        select(TrackedRun.run, TrackedRun.state, TrackedRun.release, TrackedRun.decided_at)
        .where(TrackedRun.run.in_(runs)))}
    current = {(run, workflow): _Current(state, reason, source, done) for run, workflow, state, reason, source, done
               in session.execute(select(WorkflowStateRow.run, WorkflowStateRow.workflow, WorkflowStateRow.state,
                                         WorkflowStateRow.reason, WorkflowStateRow.source, WorkflowStateRow.done)
                                  .where(WorkflowStateRow.run.in_(runs)))}
    changed: list[RunVerdict] = []
    updates: list[dict[str, Any]] = []
    run_rows: list[dict[str, Any]] = []
    for verdict in verdicts:
        state, release, decided_at = stored[verdict.run]
        now = verdict.decided_at
        updates += _save_workflows(session, verdict, current, now)
        reasons = list(verdict.reasons)
        if decided_at is None or state != verdict.state.value:
            session.add(StateChange(run=verdict.run, workflow=None, state=verdict.state.value,
                                    reason="; ".join(reasons), source=Source.POLICY.value, at=now))
            changed.append(verdict)
        if decided_at is None or release != verdict.release:
            session.add(ReleaseDecision(run=verdict.run, release=verdict.release,
                                        state=verdict.state.value, decided_at=now))
            if verdict not in changed:
                changed.append(verdict)
        # decided_at changes every cycle on purpose: every run row is written, so it is written whole
        run_rows.append({"run": verdict.run, "state": verdict.state.value, "release": verdict.release,
                         "reasons": reasons, "lock_time": verdict.lock_time, "release_time": verdict.release_time,
                         "decided_at": now,
                         "awaiting": [source.value for source in verdict.awaiting],
                         "finalized": verdict.run in final})
    session.execute(update(TrackedRun), run_rows)
    session.execute(update(TrackedRun).where(TrackedRun.run.in_(runs)).values(saved_at=saved_at),
                    execution_options={"synchronize_session": False})
    if updates:  # by primary key, in one statement per batch: most cycles change a few of thousands of rows
        session.execute(update(WorkflowStateRow), updates)
    return Saved(changed, stale)


class _Current(NamedTuple):
    state: str
    reason: str
    source: str
    done: bool


def _save_workflows(session: Session, verdict: RunVerdict, current: Mapping[tuple[int, str], _Current],
                    now: datetime) -> list[dict[str, Any]]:
    """Add the new workflow rows and the history of changed states; return the updates of existing rows."""
    updates: list[dict[str, Any]] = []
    for wf in verdict.workflows:
        row = current.get((verdict.run, wf.workflow))
        if row is None:
            session.add(WorkflowStateRow(run=verdict.run, workflow=wf.workflow, state=wf.state.value,
                                         reason=wf.reason, source=wf.source.value, done=wf.done, since=now,
                                         updated_at=now))
        elif row.state == wf.state.value and row.done == wf.done:
            # unchanged rows are left alone: a cycle writes only what changed
            if row.reason != wf.reason or row.source != wf.source.value:
                updates.append({"run": verdict.run, "workflow": wf.workflow, "reason": wf.reason,
                                "source": wf.source.value, "updated_at": now})
            continue
        else:
            updates.append({"run": verdict.run, "workflow": wf.workflow, "state": wf.state.value,
                            "reason": wf.reason, "source": wf.source.value, "done": wf.done, "since": now,
                            "updated_at": now})
        session.add(StateChange(run=verdict.run, workflow=wf.workflow, state=wf.state.value,
                                reason=wf.reason, source=wf.source.value, at=now))
    return updates
