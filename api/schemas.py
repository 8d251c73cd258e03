"""Shapes of the JSON API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from spyagency.core.free_text import MAX_COMMENT, free_text_problem
from spyagency.core.models import AckKind, RunState, Source, WorkflowState
from spyagency.people.overrides import OverrideKind
from spyagency.sources.tier0 import RUN_NUMBER


def _canonical_run(value: Any) -> Any:
    """Only the canonical spelling of a run number (``386925``, not ``386925.0`` or ``+386925``)."""
    if isinstance(value, str) and not RUN_NUMBER.fullmatch(value):
        raise ValueError("a run number is 2 to 7 digits without a leading zero")
    return value


def _free_text(value: str) -> str:
    problem = free_text_problem(value)
    if problem:
        raise ValueError(f"text {problem}")
    return value


#: Tier0 run numbers: ^[1-9][0-9]{1,6}$
RunNumber = Annotated[int, BeforeValidator(_canonical_run), Path(ge=10, le=9_999_999, description="CMS run number")]


def _utc_moment(value: datetime | None) -> datetime | None:
    """A moment in UTC (a naive one is taken as UTC); one that UTC cannot hold is refused, not a 500."""
    if value is None:
        return None
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError:
        raise ValueError("not a moment SpyAgency can place in UTC (years 1 to 9999)") from None


#: ``?at=``: an ISO moment, default now.
Moment = Annotated[datetime | None, AfterValidator(_utc_moment), Query(description="ISO time; default now")]
Comment = Annotated[str, AfterValidator(_free_text)]


class ReleaseOut(BaseModel):
    run: int
    release: bool
    state: RunState
    reasons: list[str]
    deadline: datetime | None = Field(description="lock time: conditions must be in before it (UTC)")
    decided_at: datetime | None


class NextReleaseOut(ReleaseOut):
    pass


class WorkflowOut(BaseModel):
    workflow: str
    state: WorkflowState
    reason: str
    source: Source
    done: bool
    since: datetime


class RunOut(BaseModel):
    run: int
    state: RunState
    release: bool
    reasons: list[str]
    era: str | None
    start_time: datetime
    stop_time: datetime | None
    lock_time: datetime | None
    release_time: datetime | None
    decided_at: datetime | None
    workflows: list[WorkflowOut]


class RunPage(BaseModel):
    runs: list[RunOut]
    next_cursor: int | None = Field(description="pass as cursor to get the next (older) page")


class StateChangeOut(BaseModel):
    workflow: str | None
    state: RunState | WorkflowState = Field(description="the run's state (workflow null) or the workflow's")
    reason: str
    source: Source
    at: datetime


class AckIn(BaseModel):
    kind: AckKind
    comment: Comment = Field("", max_length=MAX_COMMENT)


class AckOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    run: int
    workflow: str
    kind: AckKind
    author: str
    comment: str
    created_at: datetime
    answered_state: WorkflowState | None = Field(None, description="the workflow's state the expert answered")


class AckResult(BaseModel):
    acknowledgement: AckOut
    run_state: RunState | None
    workflow_state: WorkflowState | None


class RunDetailOut(RunOut):
    history: list[StateChangeOut]
    acknowledgements: list[AckOut]


class OverrideIn(BaseModel):
    kind: OverrideKind
    comment: Comment = Field(min_length=1, max_length=MAX_COMMENT)


class OverrideOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    run: int
    kind: OverrideKind
    author: str
    comment: str
    created_at: datetime


class SteeringActionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    idempotency_key: str
    action: Literal["pause", "resume"]
    run: int | None
    reason: str
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str | None


class SteeringOut(BaseModel):
    desired: Literal["pause", "resume", "wait"] = Field(
        description="what SpyAgency wants Tier0's promptreco_status switch to be: pause, resume, or wait "
                    "(left alone until every source has looked at the run)")
    run: int | None = Field(description="the next run in Tier0's release line")
    reason: str
    last_requested: Literal["pause", "resume"] | None
    promptreco_enabled: bool | None = Field(description="the switch as last observed from Tier0")
    pending: list[SteeringActionOut]
    switch_note: str = Field("", description="who holds the switch when it is not SpyAgency's to move")
    changed_by_others_at: datetime | None = Field(
        None, description="when someone else last changed the switch over SpyAgency's steering")


class WorkflowExplainedOut(BaseModel):
    workflow: str
    state: WorkflowState
    reason: str
    source: Source
    done: bool


class ExplanationOut(BaseModel):
    """A recorded decision and its replay from the facts stored with it."""

    run: int
    decided_at: datetime
    policy: str
    state: RunState
    release: bool
    reasons: list[str]
    workflows: list[WorkflowExplainedOut]
    first_conditions_safe_run: int | None
    replayed_under: str
    matches: bool = Field(description="the replay gives exactly the verdict stored then")
    mismatch: str | None
    lines: list[str] = Field(description="the explanation as `spyagency explain` prints it")
