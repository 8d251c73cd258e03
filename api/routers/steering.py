"""Steering of Tier0's prompt-reco releases: the current picture, and operators' overrides."""

from __future__ import annotations

from fastapi import APIRouter, status

from spyagency.passes.steer import steering_status
from spyagency.people.overrides import record_override
from spyagency.store.people import overrides_for

from ..deps import DbSession, Operator, State
from ..schemas import OverrideIn, OverrideOut, RunNumber, SteeringActionOut, SteeringOut

router = APIRouter(prefix="/api/v1", tags=["steering"])


@router.get("/steering", response_model=SteeringOut, summary="What SpyAgency asks of Tier0's release switch, and why")
def get_steering(session: DbSession, state: State) -> SteeringOut:
    picture = steering_status(session, state.policy, state.clock.now())
    return SteeringOut(desired=picture.desired.action, run=picture.desired.run, reason=picture.desired.reason,
                       last_requested=picture.last_requested, promptreco_enabled=picture.promptreco_enabled,
                       pending=[SteeringActionOut.model_validate(a) for a in picture.pending],
                       switch_note=picture.switch_note, changed_by_others_at=picture.changed_by_others_at)


@router.post("/runs/{run}/steering-overrides", response_model=OverrideOut, status_code=status.HTTP_201_CREATED,
             summary="Let Tier0 release a run that is not ready, or withdraw that (operator)")
def post_override(run: RunNumber, body: OverrideIn, state: State, operator: Operator) -> OverrideOut:
    row = record_override(state.store, run=run, kind=body.kind, author=operator.user, comment=body.comment,
                          now=state.clock.now())  # a refused override is mapped once, in api/errors.py
    return OverrideOut.model_validate(row)


@router.get("/runs/{run}/steering-overrides", response_model=list[OverrideOut],
            summary="Every steering override of a run")
def list_overrides(run: RunNumber, session: DbSession) -> list[OverrideOut]:
    return [OverrideOut.model_validate(o) for o in overrides_for(session, run)]
