"""A decade of history, written in bulk: CondDB rows (RUN_INFO, TAG, PAYLOAD, IOV, TAG_LOG) and
the store rows SpyAgency would have kept for those runs (finalized runs, workflow states,
history, uploads, release decisions).

One run every ``spacing`` back in time from ``end``; 25 tags in all (the 13 PCL tags of the
policy and 12 other prompt tags), lumi-based tags with ``iovs_per_lumi_tag`` IOVs per run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, insert

from spyagency.core.since import pack_lumi
from spyagency.policy import Policy
from spyagency.sources import conddb_schema as db
from spyagency.store import Store
from spyagency.store.tables import ReleaseDecision, StateChange, TrackedRun, UploadRow, WorkflowStateRow

#: Prompt global-tag tags that no PCL workflow writes: (tag, time type). They make up 25 tags with the PCL ones.
OTHER_TAGS = (
    ("SiPixelQualityFromDbRcd_prompt", "lumi"), ("SiPixelQualityFromDbRcd_stuckTBM_prompt", "lumi"),
    ("SiPixelQualityFromDbRcd_other_prompt", "lumi"), ("BeamSpotOnlineHLT_prompt", "lumi"),
    ("BeamSpotOnlineLegacy_prompt", "lumi"), ("LHCInfoPerLS_prompt", "lumi"),
    ("LHCInfoPerFill_prompt", "run"), ("EcalLaserAPDPNRatios_prompt_v3", "run"), ("RunInfo_prompt", "run"),
    ("L1TriggerScalers_prompt", "run"), ("DTT0_prompt", "run"), ("HcalRespCorrs_prompt", "run"),
)
CHUNK = 50_000


@dataclass(frozen=True)
class HistoryShape:
    runs: int
    first_run: int
    end: datetime  # the newest history run stops before this
    spacing: timedelta = timedelta(hours=4)
    iovs_per_lumi_tag: int = 15


@dataclass(frozen=True)
class HistoryCounts:
    runs: int
    iovs: int
    payloads: int
    tag_log: int
    store_rows: int


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _bulk(engine: Engine, table: Any, rows: Iterator[dict[str, Any]]) -> int:
    count = 0
    with engine.begin() as conn:
        for batch in _chunks(rows):
            conn.execute(insert(table), batch)
            count += len(batch)
    return count


def _run_times(shape: HistoryShape) -> Iterator[tuple[int, datetime, datetime]]:
    for i in range(shape.runs):
        stop = shape.end - (shape.runs - i) * shape.spacing
        yield shape.first_run + i, stop - timedelta(hours=2), stop


def _upload_time(stop: datetime) -> datetime:
    return stop + timedelta(hours=4)


def _tags(policy: Policy) -> list[tuple[str, str]]:
    return [(wf.tag, wf.time_type) for wf in policy.workflows] + list(OTHER_TAGS)


def fill_conddb(conddb_url: str, policy: Policy, shape: HistoryShape) -> tuple[int, int, int]:
    """Write the history into a CondDB that already has the PCL tags; return (iovs, payloads, tag_log)."""
    engine = create_engine(conddb_url)
    stamp = _naive(shape.end)
    with engine.begin() as conn:
        conn.execute(insert(db.TAG), [dict(
            NAME=tag, TIME_TYPE=time_type.capitalize(), OBJECT_TYPE=tag.split("_")[0], SYNCHRONIZATION="any",
            DESCRIPTION="prompt tag (not PCL)", LAST_VALIDATED_TIME=0, END_OF_VALIDITY=0, INSERTION_TIME=stamp,
            MODIFICATION_TIME=stamp, PROTECTION_CODE=0) for tag, time_type in OTHER_TAGS])
    tags = _tags(policy)

    def run_info() -> Iterator[dict[str, Any]]:
        for run, start, stop in _run_times(shape):
            yield dict(RUN_NUMBER=run, START_TIME=_naive(start), END_TIME=_naive(stop))

    def uploads() -> Iterator[tuple[str, str, int, datetime, str]]:
        for run, _, stop in _run_times(shape):
            at = _upload_time(stop)
            for n, (tag, time_type) in enumerate(tags):
                inserted = _naive(at + timedelta(seconds=n))
                digest = hashlib.sha1(f"{tag}:{run}".encode()).hexdigest()
                yield tag, time_type, run, inserted, digest

    def payloads() -> Iterator[dict[str, Any]]:
        for tag, _, _, inserted, digest in uploads():
            yield dict(HASH=digest, OBJECT_TYPE=tag.split("_")[0], DATA=digest.encode(), STREAMER_INFO=b"{}",
                       VERSION="CMSSW_16_0_7_patch1", INSERTION_TIME=inserted)

    def iovs() -> Iterator[dict[str, Any]]:
        for tag, time_type, run, inserted, digest in uploads():
            if time_type == "lumi":
                step = max(1, 300 // shape.iovs_per_lumi_tag)
                for k in range(shape.iovs_per_lumi_tag):
                    yield dict(TAG_NAME=tag, SINCE=pack_lumi(run, 1 + k * step), INSERTION_TIME=inserted,
                               PAYLOAD_HASH=digest)
            else:
                yield dict(TAG_NAME=tag, SINCE=run, INSERTION_TIME=inserted, PAYLOAD_HASH=digest)

    def tag_log() -> Iterator[dict[str, Any]]:
        for tag, _, _run, inserted, _ in uploads():
            yield dict(TAG_NAME=tag, EVENT_TIME=inserted, USER_NAME="cmst0", HOST_NAME="vocms0314.cern.ch",
                       COMMAND="uploadConditions.py", ACTION="1 iov(s) inserted; ",
                       USER_TEXT=f"Tier0 PCL Upload for {tag.split('_')[0]} calib. (prod)")

    _bulk(engine, db.RUN_INFO, run_info())
    counts = (_bulk(engine, db.IOV, iovs()), _bulk(engine, db.PAYLOAD, payloads()),
              _bulk(engine, db.TAG_LOG, tag_log()))
    engine.dispose()
    return counts


def fill_store(store: Store, policy: Policy, shape: HistoryShape) -> int:
    """Write what SpyAgency keeps about runs released long ago; return the number of rows."""
    engine = store.engine
    workflows = policy.workflows
    lock = policy.deadlines.reco_delay - policy.deadlines.lock_offset

    def runs() -> Iterator[dict[str, Any]]:
        for run, start, stop in _run_times(shape):
            yield dict(run=run, start_time=start, stop_time=stop, first_seen=start, tier0_known=True, era="Run2025C",
                       express_producers={}, streams_done={}, tier0_observed_at=stop, state="released",
                       release=True, reasons=[], lock_time=stop + lock, release_time=stop + policy.deadlines.reco_delay,
                       decided_at=stop + lock, finalized=True)

    def workflow_states() -> Iterator[dict[str, Any]]:
        for run, _, stop in _run_times(shape):
            for wf in workflows:
                yield dict(run=run, workflow=wf.name, state="uploaded", reason=f"{wf.tag} has an IOV for run {run}",
                           source="conddb", done=True, since=_upload_time(stop), updated_at=_upload_time(stop))

    def state_changes() -> Iterator[dict[str, Any]]:
        for run, _, stop in _run_times(shape):
            for wf in workflows:
                for state, at, source in (("waiting_express", stop, "tier0"),
                                          ("harvesting", stop + timedelta(hours=3), "tier0"),
                                          ("uploaded", _upload_time(stop), "conddb")):
                    yield dict(run=run, workflow=wf.name, state=state, reason=state, source=source, at=at)
            for state, at in (("not_ready", stop), ("ready", _upload_time(stop)), ("released", stop + lock)):
                yield dict(run=run, workflow=None, state=state, reason=state, source="spyagency", at=at)

    def uploads() -> Iterator[dict[str, Any]]:
        for run, _, stop in _run_times(shape):
            for n, wf in enumerate(workflows):
                yield dict(tag=wf.tag, since_run=run, first_since=run, iov_count=1,
                           payload_hash=hashlib.sha1(f"{wf.tag}:{run}".encode()).hexdigest(),
                           inserted_at=_upload_time(stop) + timedelta(seconds=n), observed_at=_upload_time(stop))

    def decisions() -> Iterator[dict[str, Any]]:
        for run, _, stop in _run_times(shape):
            yield dict(run=run, release=False, state="not_ready", decided_at=stop)
            yield dict(run=run, release=True, state="ready", decided_at=_upload_time(stop))

    tables = ((TrackedRun, runs), (WorkflowStateRow, workflow_states), (StateChange, state_changes),
              (UploadRow, uploads), (ReleaseDecision, decisions))
    return sum(_bulk(engine, model.__table__, rows()) for model, rows in tables)


def fill(conddb_url: str, store: Store, policy: Policy, shape: HistoryShape) -> HistoryCounts:
    """Both halves of the history."""
    iovs, payloads, tag_log = fill_conddb(conddb_url, policy, shape)
    return HistoryCounts(shape.runs, iovs, payloads, tag_log, fill_store(store, policy, shape))
