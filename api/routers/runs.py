"""Runs: the list, one run in full, and the next run in Tier0's line."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from spyagency.core.models import RunState, RunSummary
from spyagency.store import queries
from spyagency.store.decision_records import decision_at
from spyagency.store.people import acknowledgements
from spyagency.views.explain import explain, explanation_lines

from ..deps import DbSession, State
from ..schemas import (
    AckOut,
    ExplanationOut,
    Moment,
    NextReleaseOut,
    RunDetailOut,
    RunNumber,
    RunOut,
    RunPage,
    StateChangeOut,
    WorkflowExplainedOut,
    WorkflowOut,
)
from .release import not_found, release_out

router = APIRouter(prefix="/api/v1", tags=["runs"])


def run_out(summary: RunSummary) -> RunOut:
    return RunOut(
        run=summary.run, state=summary.state, release=summary.release, reasons=list(summary.reasons),
        era=summary.era, start_time=summary.start_time, stop_time=summary.stop_time,
        lock_time=summary.lock_time, release_time=summary.release_time, decided_at=summary.decided_at,
        workflows=[WorkflowOut(**vars(w)) for w in summary.workflows])


@router.get("/release/next", response_model=NextReleaseOut, summary="The next run in Tier0's line")
def get_next_release(state: State, session: DbSession) -> NextReleaseOut:
    summary = queries.next_in_line(session)
    if summary is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no run is waiting for release")
    return NextReleaseOut(**release_out(state, summary).model_dump())


@router.get("/runs", response_model=RunPage, summary="Runs, newest first, paginated")
def list_runs(
    session: DbSession,
    state: RunState | None = None,
    min_run: Annotated[int | None, Query(ge=0, le=9_999_999)] = None,
    max_run: Annotated[int | None, Query(ge=0, le=9_999_999)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[int | None, Query(ge=0, le=9_999_999, description="next_cursor of the previous page")] = None,
) -> RunPage:
    runs = queries.list_runs(session, state=state, min_run=min_run, max_run=max_run, limit=limit + 1,
                             before_run=cursor)
    page = runs[:limit]
    next_cursor = page[-1].run if len(runs) > limit else None
    return RunPage(runs=[run_out(r) for r in page], next_cursor=next_cursor)


@router.get("/runs/{run}", response_model=RunDetailOut, summary="A run, its workflows, history and acks")
def get_run(run: RunNumber, session: DbSession) -> RunDetailOut:
    summary = queries.get_run(session, run)
    if summary is None:
        raise not_found(run)
    return RunDetailOut(
        **run_out(summary).model_dump(),
        history=[StateChangeOut(workflow=c.workflow, state=c.state, reason=c.reason, source=c.source, at=c.at)
                 for c in queries.history(session, run)],
        acknowledgements=[AckOut.model_validate(a) for a in acknowledgements(session, run)])


@router.get("/runs/{run}/explain", response_model=ExplanationOut,
            summary="The decision of a run in force at a moment, the facts it rests on, and its replay")
def explain_run(run: RunNumber, state: State, session: DbSession,
                at: Moment = None) -> ExplanationOut:
    record = decision_at(session, run, at or state.clock.now())
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no decision of run {run} is recorded by then")
    explanation = explain(record, state.policy)
    return ExplanationOut(run=run, decided_at=record.decided_at, policy=record.policy,
                          state=record.verdict.state, release=record.verdict.release,
                          reasons=list(record.verdict.reasons),
                          workflows=[WorkflowExplainedOut(workflow=w.workflow, state=w.state, reason=w.reason,
                                                          source=w.source, done=w.done)
                                     for w in record.verdict.workflows],
                          first_conditions_safe_run=record.inputs.tier0.first_conditions_safe_run,
                          replayed_under=explanation.replayed_under, matches=explanation.matches,
                          mismatch=explanation.mismatch, lines=explanation_lines(explanation))
