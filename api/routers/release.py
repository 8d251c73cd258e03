"""The release API that Tier0 asks before releasing a run's prompt reco.

Served by the main service and, alone, by ``spyagency serve-release``: Tier0's own listener,
which nothing but this question and liveness can keep busy.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status

from spyagency.core.models import RunState, RunSummary
from spyagency.core.release import release_answer
from spyagency.errors import StoreUnavailable

from ..deps import AppState
from ..schemas import ReleaseOut, RunNumber

router = APIRouter(prefix="/api/v1", tags=["runs"])


def not_found(run: int) -> HTTPException:
    """The 404 of a run SpyAgency does not track (or has not decided yet)."""
    return HTTPException(status.HTTP_404_NOT_FOUND,
                         f"run {run} is unknown to SpyAgency: not in RUN_INFO yet, or older than the look-back")


def release_out(state: AppState, summary: RunSummary) -> ReleaseOut:
    """The release answer for a stored verdict, judged against the clock now."""
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
    except StoreUnavailable as exc:  # the same short words as every route: never the driver's text
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the store cannot be read; try again later",
                            headers={"Retry-After": "30"}) from exc
    if summary is None:
        raise not_found(run)
    # Tier0's hot path: a Response is not validated again against the response model
    return Response(release_out(state, summary).model_dump_json(), media_type="application/json")
