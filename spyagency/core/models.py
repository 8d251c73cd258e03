"""Domain vocabulary: observations from the sources, and verdicts about runs.

Observations are facts with a source and a time. Verdicts are what the pure
readiness decision makes of them. Both are plain frozen dataclasses so they can
cross every boundary (store, API, Airflow XCom) without surprises.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Source(str, enum.Enum):
    """The systems SpyAgency observes, plus people (acknowledgements)."""

    TIER0 = "tier0"
    CONDDB = "conddb"
    DQM = "dqm"
    EXPERT = "expert"
    POLICY = "policy"


class WorkflowState(str, enum.Enum):
    """State of one PCL workflow for one run."""

    NOT_APPLICABLE = "not_applicable"  # the run's express config does not run this producer
    WAITING_EXPRESS = "waiting_express"  # run still going, or express stream not done
    HARVESTING = "harvesting"  # express done, payload not yet in, before give-up
    UPLOADED = "uploaded"  # payload in the destination tag with since inside the run
    NO_PAYLOAD = "no_payload"  # harvest legitimately produced nothing (e.g. no significant movement)
    VETOED = "vetoed"  # harvest vetoed its own update: needs an expert
    LATE = "late"  # the run's payload landed on a later run (after lock)
    AMBIGUOUS = "ambiguous"  # a payload at this run's since may be an earlier run's late upload
    MISSING = "missing"  # PCL give-up time passed without a payload
    FAILED = "failed"  # the harvest reported a failure (DQM check)
    UNKNOWN = "unknown"  # a source is down, stale or returned junk
    ACKNOWLEDGED = "acknowledged"  # an AlCa expert accepted it
    HELD = "held"  # an AlCa expert put it on hold
    NEEDS_REVIEW = "needs_review"  # uploaded, but its output looks unusual (or cannot be judged): an expert decides


#: Workflow states that let a run go.
DONE_STATES = frozenset({WorkflowState.NOT_APPLICABLE, WorkflowState.UPLOADED,
                         WorkflowState.NO_PAYLOAD, WorkflowState.ACKNOWLEDGED})


class RunState(str, enum.Enum):
    """Readiness of a whole run for prompt reco."""

    NOT_READY = "not_ready"
    READY = "ready"
    RELEASED = "released"  # Tier0 locked the run with every calibration in
    OVERDUE = "overdue"  # lock time passed while not ready


class AckKind(str, enum.Enum):
    """What an AlCa expert says about a workflow of a run."""

    ACCEPT = "accept"  # accept whatever state it is in
    ACCEPT_WITHOUT_PAYLOAD = "accept_without_payload"  # e.g. alignment vetoed on purpose
    HOLD = "hold"  # keep the run not ready until another acknowledgement


class Role(str, enum.Enum):
    """What a person or client may do through the API and dashboard."""

    ALCA_EXPERT = "alca-expert"  # acknowledge or hold calibrations
    OPERATOR = "operator"  # override steering for a run
    TIER0 = "tier0"  # Tier0's own client of the release API


class OutboxAction(str, enum.Enum):
    """What an outbox entry carries: a steering action toward Tier0, or a warning to AlCa experts."""

    PAUSE = "pause"  # pause Tier0's prompt-reco releases
    RESUME = "resume"  # let Tier0 release again
    NOTIFY = "notify"  # warn experts: a run nears its lock with a workflow missing
    FOLLOW_UP = "notify-update"  # tell experts what changed since their warning
    AT_RISK = "at-risk"  # warn experts: a calibration is forecast to land after the give-up or the lock
    CERTIFICATE = "certificate"  # tell operators: the grid certificate SpyAgency shows expires soon


#: The outbox actions that move Tier0's release switch.
STEERING_ACTIONS = (OutboxAction.PAUSE.value, OutboxAction.RESUME.value)
#: The outbox actions that are messages to experts.
WARNING_ACTIONS = (OutboxAction.NOTIFY.value, OutboxAction.FOLLOW_UP.value, OutboxAction.AT_RISK.value)
#: The outbox actions that are messages to the operators (their own recipients, not the experts').
OPERATOR_ACTIONS = (OutboxAction.CERTIFICATE.value,)


class DqmOutcome(str, enum.Enum):
    """What a PCL DQM status histogram says about a harvest."""

    UPDATED = "updated"
    NO_UPDATE = "no_update"
    VETOED = "vetoed"
    FAILED = "failed"
    NOT_AVAILABLE = "not_available"  # histogram not (yet) in the DQM GUI
    UNREADABLE = "unreadable"  # the GUI failed or answered junk for this run (a per-run fault)


@dataclass(frozen=True)
class RunInfo:
    """A run as seen in the CondDB RUN_INFO table (stop drives every deadline)."""

    run: int
    start_time: datetime
    stop_time: datetime | None


@dataclass(frozen=True)
class Tier0Run:
    """What the Tier0 Data Service says about one run."""

    run: int
    known: bool
    era: str | None = None
    #: producers (alca_skim) configured per express stream
    express_producers: dict[str, frozenset[str]] = field(default_factory=dict)
    #: run_stream_done per stream; absent = not asked yet
    streams_done: dict[str, bool] = field(default_factory=dict)
    observed_at: datetime | None = None
    #: proc_version per express stream (names the PCL datasets in the DQM GUI)
    express_versions: dict[str, int] = field(default_factory=dict)
    #: why the latest per-run calls for this run failed (the run's Tier0 facts are then not trusted)
    error: str | None = None
    #: the first read after the run's stop that gave this express configuration (None: none yet)
    configuration_since: datetime | None = None

    def streams_running(self, producer: str) -> tuple[str, ...]:
        """The express streams of this run whose ``alca_skim`` carries ``producer``, sorted."""
        return streams_running(self.express_producers, producer)

    def pcl_producers(self) -> dict[str, tuple[str, ...]]:
        """Every PCL producer (``PromptCalibProd*``) Tier0 configured for this run → the streams carrying it."""
        return pcl_producers(self.express_producers)


#: Tier0 books a PCL harvest for every alca_skim producer whose name starts with this.
PCL_PREFIX = "PromptCalibProd"


def streams_running(express_producers: Mapping[str, Collection[str]], producer: str) -> tuple[str, ...]:
    """The express streams whose producers include ``producer``, sorted."""
    return tuple(sorted(stream for stream, producers in express_producers.items() if producer in producers))


def pcl_producers(express_producers: Mapping[str, Collection[str]]) -> dict[str, tuple[str, ...]]:
    """Every PCL producer of an express configuration → the streams carrying it (both sorted)."""
    found: dict[str, list[str]] = {}
    for stream in sorted(express_producers):
        for producer in express_producers[stream]:
            if producer.startswith(PCL_PREFIX):
                found.setdefault(producer, []).append(stream)
    return {producer: tuple(found[producer]) for producer in sorted(found)}


@dataclass(frozen=True)
class Upload:
    """The IOVs one upload wrote into a destination tag: one since run, one insertion time.

    Nothing in the CondDB says which run's harvest made it: the since may have been moved
    up by the upload service. ``attribution.attribute`` works that out from other facts.
    """

    tag: str
    since: int  # the lowest since of the upload
    since_run: int  # the run that since lies in
    payload_hash: str
    inserted_at: datetime  # the CondDB's INSERTION_TIME (the database server's clock)


@dataclass(frozen=True)
class TagInfo:
    """A destination tag as the CondDB TAG table describes it."""

    name: str
    time_type: str  # run | lumi | time | hash | user (lower case)
    synchronization: str  # any, validation, mc, runmc, hlt, express, prompt, pcl, offline


@dataclass(frozen=True)
class FcsrSpan:
    """Tier0's first conditions-safe run as SpyAgency saw it: ``value`` throughout [first_seen, last_seen]."""

    value: int
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class RunLine:
    """What attribution needs to know of a run: when it stopped and whether Tier0 holds it in line."""

    run: int
    stop_time: datetime | None
    tier0_known: bool


@dataclass(frozen=True)
class DqmCheck:
    """A DQM GUI reading of one workflow's status histogram for one run."""

    run: int
    workflow: str
    outcome: DqmOutcome
    detail: str
    observed_at: datetime
    #: the first read that gave this outcome and detail (None: not known)
    first_seen: datetime | None = None


@dataclass(frozen=True)
class Acknowledgement:
    """An AlCa expert's word on one workflow of one run. Never deleted; the latest wins."""

    run: int
    workflow: str
    kind: AckKind
    author: str
    comment: str
    created_at: datetime


@dataclass(frozen=True)
class SourceHealth:
    """When a source last answered, and what went wrong since."""

    source: Source
    last_success: datetime | None
    last_error: str | None = None
    last_error_at: datetime | None = None
    failing: bool = False  # the latest attempt failed


@dataclass(frozen=True)
class Tier0Global:
    """Tier0-wide facts: the lowest unlocked run and the release switch."""

    first_conditions_safe_run: int | None
    promptreco_enabled: bool | None
    observed_at: datetime | None


@dataclass(frozen=True)
class RunObservations:
    """Everything observed about one run, the input of the decision."""

    info: RunInfo
    tier0: Tier0Run | None
    uploads: dict[str, tuple[AttributedUpload, ...]]  # by destination tag, since inside this run
    dqm: dict[str, DqmCheck]  # by workflow name
    acks: dict[str, Acknowledgement]  # latest per workflow name
    missing_tags: frozenset[str] = frozenset()  # destination tags absent from the CondDB
    #: by destination tag: uploads on later runs, made after this run's lock, that are not the later run's own
    landed_later: dict[str, tuple[AttributedUpload, ...]] = field(default_factory=dict)
    #: sources that have not looked at this run since SpyAgency found it (Tier0; DQM once Tier0 named its era)
    unobserved_by: tuple[Source, ...] = ()
    #: by workflow name: the quality watch's word on this run's output (spyagency.core.quality.QualityScore)
    quality: dict[str, Any] = field(default_factory=dict)


class Attribution(str, enum.Enum):
    """Whose harvest an upload is, as far as the observed facts tell."""

    OWN = "own"  # the payload of the run its since lies in
    LANDED = "landed"  # an earlier, locked run's upload that the upload service moved onto this since
    AMBIGUOUS = "ambiguous"  # either: only the upload's file name (not kept by the CondDB) would tell
    AFTER_LOCK = "after_lock"  # inserted after the since's own run was locked


@dataclass(frozen=True)
class AttributedUpload:
    """An upload and whose it is, with the facts that say so."""

    upload: Upload
    attribution: Attribution
    why: str
    earlier_run: int | None = None  # the locked run whose late upload it may be


@dataclass(frozen=True)
class WorkflowVerdict:
    """The decided state of one workflow for one run, and why."""

    workflow: str
    state: WorkflowState
    reason: str
    source: Source
    done: bool


@dataclass(frozen=True)
class RunVerdict:
    """The decided readiness of one run, with reasons a person can act on."""

    run: int
    state: RunState
    release: bool
    reasons: tuple[str, ...]
    lock_time: datetime | None
    release_time: datetime | None
    workflows: tuple[WorkflowVerdict, ...]
    decided_at: datetime
    #: healthy sources that have not looked at this run yet: the verdict is provisional, and no
    #: warning or pause may rest on it until they have
    awaiting: tuple[Source, ...] = ()


@dataclass(frozen=True)
class OutboxEntry:
    """One outbox entry as senders and readers see it; ``attempts`` counts tries before this one."""

    id: int
    idempotency_key: str
    action: str  # an OutboxAction value
    run: int | None
    reason: str
    created_at: datetime
    sent_at: datetime | None = None
    cancelled_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None
    detail: dict[str, object] | None = None


@dataclass(frozen=True)
class LineRun:
    """A run in Tier0's line, as its stored verdict describes it (what steering decides on)."""

    run: int
    release: bool
    lock_time: datetime | None
    decided_at: datetime | None
    reasons: tuple[str, ...]
    awaiting: tuple[str, ...] = ()  # healthy sources that have not looked at the run yet


@dataclass(frozen=True)
class ResumeOverride:
    """An operator's standing resume for a run."""

    author: str
    comment: str
    created_at: datetime


@dataclass(frozen=True)
class OverrideRecord:
    """One override as recorded (resume or withdraw)."""

    id: int
    run: int
    kind: str
    author: str
    comment: str
    created_at: datetime


@dataclass(frozen=True)
class AckRecord:
    """One acknowledgement as recorded."""

    id: int
    run: int
    workflow: str
    kind: str
    author: str
    comment: str
    created_at: datetime
    answered_state: str | None = None  # the workflow's state the expert answered


@dataclass(frozen=True)
class SwitchChange:
    """One observed change of the switch."""

    enabled: bool
    observed_at: datetime
    by_spyagency: bool
    seen_by: str = "poll"  # poll: a Tier0 Data Service reading; control: Tier0 refused SpyAgency's write


@dataclass(frozen=True)
class SteeringAction:
    """An action SpyAgency put in its outbox for the switch."""

    id: int
    action: str
    run: int | None
    reason: str
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None = None  # why the latest attempt to deliver it failed


@dataclass(frozen=True)
class SwitchPicture:
    """What SpyAgency knows of the switch: the latest observed change and its own latest request."""

    latest_change: SwitchChange | None
    last_action: SteeringAction | None  # not cancelled; sent or pending
    last_action_seen: bool = False  # a Tier0 poll has seen the switch where the last action put it
    observed_enabled: bool | None = None  # the latest Tier0 poll's reading, changed or not
    observed_at: datetime | None = None


@dataclass(frozen=True)
class WorkflowStatus:
    """A workflow's stored state for one run, since when, and why."""

    workflow: str
    state: str
    reason: str
    source: str
    done: bool
    since: datetime


@dataclass(frozen=True)
class RunSummary:
    """A run's stored verdict with its workflows: what the release API, dashboard and CLI show."""

    run: int
    state: str
    release: bool
    reasons: tuple[str, ...]
    start_time: datetime
    stop_time: datetime | None
    lock_time: datetime | None
    release_time: datetime | None
    decided_at: datetime | None
    era: str | None
    workflows: tuple[WorkflowStatus, ...]
    express_versions: dict[str, int] = field(default_factory=dict)
    #: producers (alca_skim) Tier0 configured per express stream of the run
    express_producers: dict[str, frozenset[str]] = field(default_factory=dict)
    #: seconds since the verdict was saved, on the database's clock (the release hot path reads it)
    saved_age_s: float | None = None


@dataclass(frozen=True)
class StateChangeRecord:
    """One change of a run's or a workflow's state, as recorded."""

    run: int
    workflow: str | None  # None: the run itself
    state: str
    reason: str
    source: str
    at: datetime
