"""SQLAlchemy 2 typed ORM tables of the state store. Every change goes through Alembic."""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store; use UTC-aware times")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class CompressedJSON(TypeDecorator[dict[str, Any]]):
    """A JSON object stored zlib-compressed in a binary column."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        return zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 6)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> dict[str, Any] | None:
        if value is None:
            return None
        found: dict[str, Any] = json.loads(zlib.decompress(value))
        return found


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class TrackedRun(Base):
    """A run SpyAgency follows: what the sources said and its current verdict."""

    __tablename__ = "runs"

    run: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    start_time: Mapped[datetime]
    stop_time: Mapped[datetime | None]
    first_seen: Mapped[datetime]
    # Tier0 observation
    tier0_known: Mapped[bool] = mapped_column(Boolean, default=False)
    era: Mapped[str | None] = mapped_column(String(50))
    express_producers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    streams_done: Mapped[dict[str, Any]] = mapped_column(default=dict)
    express_versions: Mapped[dict[str, Any] | None]  # proc_version per express stream
    tier0_observed_at: Mapped[datetime | None]
    #: the first read after the run's stop of the express configuration it still has: believed once a read
    #: at least five minutes later agrees (spyagency.core.plausibility.configuration_doubt)
    configuration_since: Mapped[datetime | None]
    tier0_error: Mapped[str | None] = mapped_column(Text)  # the latest per-run Tier0 calls failed
    tier0_error_at: Mapped[datetime | None]
    dqm_observed_at: Mapped[datetime | None]  # the first successful DQM poll that looked at this run
    # current verdict
    state: Mapped[str] = mapped_column(String(20), default="not_ready")
    release: Mapped[bool] = mapped_column(Boolean, default=False)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    lock_time: Mapped[datetime | None]
    release_time: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    #: the database's clock when the verdict was last saved: staleness that no host's clock can fake
    saved_at: Mapped[datetime | None]
    #: healthy sources that have not looked at the run yet: no warning or pause rests on them
    awaiting: Mapped[list[Any] | None]
    finalized: Mapped[bool] = mapped_column(Boolean, default=False)
    #: bumped by every write of a fact about this run: a verdict is saved only over the facts it read
    facts_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (Index("ix_runs_state", "state"), Index("ix_runs_finalized", "finalized"))


class UploadRow(Base):
    """IOVs of one upload: one tag, one since run, one insertion time. Whose it is is decided later."""

    __tablename__ = "uploads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tag: Mapped[str] = mapped_column(String(100))
    since_run: Mapped[int] = mapped_column(Integer)
    first_since: Mapped[int] = mapped_column(BigInteger)
    iov_count: Mapped[int] = mapped_column(Integer, default=1)
    payload_hash: Mapped[str] = mapped_column(String(40))
    inserted_at: Mapped[datetime]
    observed_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("tag", "since_run", "inserted_at", name="uq_upload_since"),
        Index("ix_uploads_since_run", "since_run"),
    )


class DqmRow(Base):
    """Latest DQM reading of one workflow of one run."""

    __tablename__ = "dqm_checks"

    run: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    workflow: Mapped[str] = mapped_column(String(100), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text)
    observed_at: Mapped[datetime]
    #: the first read that gave this outcome and detail (None: stored before 0014, not confirmed)
    first_seen: Mapped[datetime | None]


class WorkflowStateRow(Base):
    """Current state of one workflow of one run."""

    __tablename__ = "workflow_states"

    run: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    workflow: Mapped[str] = mapped_column(String(100), primary_key=True)
    state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))
    done: Mapped[bool] = mapped_column(Boolean)
    since: Mapped[datetime]
    updated_at: Mapped[datetime]  # when the state, reason or source last changed


class StateChange(Base):
    """History: every change of a workflow state, or of a run state (workflow NULL)."""

    __tablename__ = "state_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run: Mapped[int] = mapped_column(Integer)
    workflow: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]

    __table_args__ = (Index("ix_state_changes_run", "run", "id"),)


class AckRow(Base):
    """An AlCa expert's acknowledgement. Never updated or deleted; the latest wins."""

    __tablename__ = "acknowledgements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run: Mapped[int] = mapped_column(Integer)
    workflow: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30))
    author: Mapped[str] = mapped_column(String(100))
    comment: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    #: the workflow's state the expert answered (None: recorded before SpyAgency kept it)
    answered_state: Mapped[str | None] = mapped_column(String(20))

    __table_args__ = (Index("ix_acks_run_workflow", "run", "workflow", "id"),)


class ReleaseDecision(Base):
    """Each change of a run's release answer, as Tier0 would have seen it."""

    __tablename__ = "release_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run: Mapped[int] = mapped_column(Integer)
    release: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(20))
    decided_at: Mapped[datetime]

    __table_args__ = (Index("ix_release_decisions_run", "run", "id"),)


class QualityValueRow(Base):
    """The watched DQM numbers of one run's output of one workflow, read once (quality watch)."""

    __tablename__ = "quality_values"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run: Mapped[int] = mapped_column(Integer)
    workflow: Mapped[str] = mapped_column(String(100))
    values: Mapped[dict[str, Any]]  # feature name -> number
    observed_at: Mapped[datetime]
    #: the watch's latest word on it (normal, unusual, not_judged); unusual outputs stay out of later histories
    status: Mapped[str | None] = mapped_column(String(20))
    #: the watch's score (encoded), computed once under ``scored_with``: the watch, the scoring and the
    #: history runs; decide reads it and scores again only when that key changes
    score: Mapped[dict[str, Any] | None]
    scored_with: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("run", "workflow", name="uq_quality_values_run_workflow"),
                      Index("ix_quality_values_workflow_run", "workflow", "run"))


class SourceStatusRow(Base):
    """Health and read cursor of one source."""

    __tablename__ = "source_status"

    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_success: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    failing: Mapped[bool] = mapped_column(Boolean, default=False)  # the latest attempt failed
    cursor_time: Mapped[datetime | None]
    cursor_run: Mapped[int | None] = mapped_column(Integer)
    last_duration_s: Mapped[float | None]
    missing_tags: Mapped[list[Any] | None]  # destination tags the CondDB lacks (conddb only)
    tags: Mapped[dict[str, Any] | None]  # tag → [time type, synchronization] (conddb only)
    first_run: Mapped[int | None] = mapped_column(Integer)  # lowest run in RUN_INFO (conddb only)
    #: the grid certificate this source was shown: DN, expiry, file (never key material); None: none sent
    identity: Mapped[dict[str, Any] | None]


class Tier0GlobalRow(Base):
    """Tier0-wide facts (single row)."""

    __tablename__ = "tier0_global"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False, default=1)
    first_conditions_safe_run: Mapped[int | None] = mapped_column(Integer)
    promptreco_enabled: Mapped[bool | None] = mapped_column(Boolean)
    observed_at: Mapped[datetime | None]


class OutboxRow(Base):
    """An action toward Tier0, written with the decision that caused it, sent at most once."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    action: Mapped[str] = mapped_column(String(30))
    run: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None]  # never to be sent (someone else took over the switch)
    detail: Mapped[dict[str, Any] | None]  # warnings: the blocking workflows they reported

    __table_args__ = (Index("ix_outbox_pending", "sent_at", "id"),)


class SteeringOverrideRow(Base):
    """An operator's word on steering for one run. Never updated or deleted; the latest wins."""

    __tablename__ = "steering_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30))  # resume | withdraw
    author: Mapped[str] = mapped_column(String(100))
    comment: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_steering_overrides_run", "run", "id"),)


class FcsrSpanRow(Base):
    """Tier0's first conditions-safe run as observed: ``value`` from ``first_seen`` to ``last_seen``.

    Kept for good: attributing an upload needs the value at its insertion time.
    """

    __tablename__ = "fcsr_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]

    __table_args__ = (Index("ix_fcsr_history_last_seen", "last_seen"),)


class SwitchObservationRow(Base):
    """Each change of Tier0's promptreco_status as SpyAgency saw it, and whether SpyAgency made it."""

    __tablename__ = "switch_observations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    observed_at: Mapped[datetime]
    by_spyagency: Mapped[bool] = mapped_column(Boolean)
    outbox_id: Mapped[int | None] = mapped_column(Integer)  # SpyAgency's action that explains it
    seen_by: Mapped[str] = mapped_column(String(20), default="poll")  # poll | control (Tier0 refused a write)


class LeaseRow(Base):
    """Who may run one reconcile step now: one holder per step name until ``expires_at``."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]


class DashboardSessionRow(Base):
    """A dashboard login: the hash of its opaque cookie, who, until when, and its forms' CSRF token."""

    __tablename__ = "dashboard_sessions"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie
    user: Mapped[str] = mapped_column(String(100))
    roles: Mapped[list[Any]]
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    #: a keyed hash of the token the login was made with: the session lives only while that token does
    token_tag: Mapped[str | None] = mapped_column(String(64))


class DecisionRecord(Base):
    """A run's decision with the facts it was made from, as they stood: kept to replay and explain it.

    Written when a run's verdict differs from its previous record (not every pass), append-only, pruned
    by age (``SPYAGENCY_DECISION_RETENTION_DAYS``).
    """

    __tablename__ = "decision_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run: Mapped[int] = mapped_column(Integer)
    decided_at: Mapped[datetime]
    policy: Mapped[str] = mapped_column(String(200))  # name and version of the policy it was decided under
    digest: Mapped[str] = mapped_column(String(64))  # of the verdict, without its time: what changed
    #: observations, Tier0-wide facts, source health (spyagency.core.codec); it and the verdict are kept
    #: compressed (their words and names repeat: a record shrinks about fourfold)
    inputs: Mapped[dict[str, Any]] = mapped_column("facts", CompressedJSON())
    verdict: Mapped[dict[str, Any]] = mapped_column("decision", CompressedJSON())

    __table_args__ = (Index("ix_decision_records_run_time", "run", "decided_at"),
                      Index("ix_decision_records_time", "decided_at"))
