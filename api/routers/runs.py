"""Runs and the release API that Tier0 asks before releasing prompt reco."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from spyagency.decide.release import release_answer
from spyagency.errors import StoreUnavailable
from spyagency.models import RunState, RunSummary
from spyagency.store import queries
from spyagency.store.people import acknowledgements

from ..deps import AppState, DbSession, State
from ..schemas import (
    AckOut,
    NextReleaseOut,
    ReleaseOut,
    RunDetailOut,
    RunNumber,
    RunOut,
    RunPage,
    StateChangeOut,
    WorkflowOut,
)

router = APIRouter(prefix="/api/v1", tags=["runs"])


def run_out(summary: RunSummary) -> RunOut:
    return RunOut(
        run=summary.run, state=summary.state, release=summary.release, reasons=list(summary.reasons),
        era=summary.era, start_time=summary.start_time, stop_time=summary.stop_time,
        lock_time=summary.lock_time, release_time=summary.release_time, decided_at=summary.decided_at,
        workflows=[WorkflowOut(**vars(w)) for w in summary.workflows])


def _not_found(run: int) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND,
                         f"run {run} is unknown to SpyAgency: not in RUN_INFO yet, or older than the look-back")


def _release(state: AppState, summary: RunSummary) -> ReleaseOut:
    # our own typed values: the model is built without validating them again
    answer = release_answer(summary, state.clock.now(), state.policy.sources.stale_after)
    return ReleaseOut.model_construct(**{**vars(answer), "state": RunState(answer.state),
                                         "reasons": list(answer.reasons)})


@router.get("/runs/{run}/release", response_model=ReleaseOut, summary="May Tier0 release this run?",
            responses={503: {"description": "the store cannot be read: no answer, so no release"}})
async def get_release(run: RunNumber, request: Request) -> Response:
    state: AppState = request.app.state.spyagency  # not a dependency: solving one costs more than the read
    try:
        summary = await state.release_reader.facts(run)
    except StoreUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    if summary is None:
        raise _not_found(run)
    # Tier0's hot path: a Response is not validated again against the response model
    return Response(_release(state, summary).model_dump_json(), media_type="application/json")


@router.get("/release/next", response_model=NextReleaseOut, summary="The next run in Tier0's line")
def get_next_release(state: State, session: DbSession) -> NextReleaseOut:
    summary = queries.next_in_line(session)
    if summary is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no run is waiting for release")
    return NextReleaseOut(**_release(state, summary).model_dump())


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
        raise _not_found(run)
    return RunDetailOut(
        **run_out(summary).model_dump(),
        history=[StateChangeOut(workflow=c.workflow, state=c.state, reason=c.reason, source=c.source, at=c.at)
                 for c in queries.history(session, run)],
        acknowledgements=[AckOut.model_validate(a) for a in acknowledgements(session, run)])
