"""Acknowledgements by AlCa experts: accept, accept without payload, or hold."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from spyagency.people.acknowledge import acknowledge
from spyagency.store.people import acknowledgements

from ..deps import AlcaExpert, DbSession, State
from ..schemas import AckIn, AckOut, AckResult, RunNumber

router = APIRouter(prefix="/api/v1", tags=["acknowledgements"])

WorkflowName = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_]+$")]


@router.post("/runs/{run}/workflows/{workflow}/acknowledgements", response_model=AckResult,
             status_code=status.HTTP_201_CREATED, summary="Acknowledge a workflow of a run (alca-expert)")
def post_acknowledgement(run: RunNumber, workflow: WorkflowName, body: AckIn, state: State,
                         expert: AlcaExpert) -> AckResult:
    # a refused acknowledgement (unknown run or workflow, missing reason) is mapped once, in api/errors.py
    row, verdict = acknowledge(state.store, state.policy, run=run, workflow=workflow, kind=body.kind,
                               author=expert.user, comment=body.comment, now=state.clock.now())
    wf_state = next((w.state.value for w in verdict.workflows if w.workflow == workflow), None) if verdict else None
    return AckResult(acknowledgement=AckOut.model_validate(row), run_state=verdict.state.value if verdict else None,
                     workflow_state=wf_state)


@router.get("/runs/{run}/acknowledgements", response_model=list[AckOut], summary="Every acknowledgement of a run")
def list_acknowledgements(run: RunNumber, session: DbSession) -> list[AckOut]:
    return [AckOut.model_validate(a) for a in acknowledgements(session, run)]
