"""The simulated world: a timeline applied up to a moment, seen through three sources."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, insert, update

from simulator.quality import Anomaly, QualitySeason, SimElement
from simulator.scenario import Outcome, SimRun
from spyagency.core.models import DqmOutcome
from spyagency.core.since import pack_lumi
from spyagency.policy import Policy, Workflow
from spyagency.sources import conddb_schema as db

PROMPT_GT = "160X_dataRun3_Prompt_v1"
#: Which destination tags the simulated CondDB synchronizes as ``prompt`` (a late upload is moved
#: onto the first conditions-safe run); the others are ``pcl`` (a late upload is refused).
PROMPT_SYNCHRONIZED = frozenset({"SiStripGains", "SiStripGainsAAG", "SiStripBadChannel", "EcalPedestals",
                                 "LumiPCC", "PPSTimingCalib"})
#: Synchronizations for which the upload service moves a since below fcsr up to it.
MOVED_BY_UPLOAD_SERVICE = frozenset({"prompt", "express", "hlt"})
STATUS_BINS = ("DB updated", "significant movement", "DB update vetoed",
               "within max movement", "within max error", "above significance")


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


#: Tier0's switch table as t0wmadatasvc etc/OracleSchema.sql creates it: no key, no user, the newest row wins.
SWITCH_DDL = "CREATE TABLE IF NOT EXISTS promptreco_status (status INTEGER NOT NULL, change_time TIMESTAMP NOT NULL)"
NEWEST_STATUS = ("SELECT status FROM promptreco_status "
                 "WHERE change_time = (SELECT MAX(change_time) FROM promptreco_status)")


@dataclass
class ControlAction:
    """A row of the simulated Tier0's promptreco_status (after the seed row), and who wrote it."""

    enabled: bool
    at: datetime
    by_hand: bool


@dataclass
class _Progress:
    started: bool = False
    stopped: bool = False
    uploaded: set[str] = field(default_factory=set)
    locked_at: datetime | None = None


class World:
    """Applies a timeline of runs to a CondDB file and answers Tier0/DQM questions."""

    def __init__(self, policy: Policy, runs: list[SimRun], conddb_url: str, start: datetime,
                 switch_url: str | None = None) -> None:
        self.policy = policy
        self.runs = {r.run: r for r in sorted(runs, key=lambda r: r.run)}
        self.conddb_url = conddb_url
        self.engine: Engine = create_engine(conddb_url)
        self.now = start
        self._applied_until: datetime | None = None  # insertion times never go behind this
        self.lock = threading.RLock()
        self.switch_url = switch_url or conddb_url.replace("conddb", "t0datasvc")
        self.switch_engine: Engine = create_engine(self.switch_url)
        self._manual_switch: set[datetime] = set()  # change_times of the rows people wrote by hand
        self._create_switch(start)
        self.released: dict[int, datetime] = {}
        self.refused_uploads: list[tuple[str, int, datetime]] = []  # (tag, run, when): pcl tags refuse late ones
        #: runs whose per-run Tier0 calls answer HTTP 500: a run number (every call) or (call, run)
        self.tier0_run_faults: set[int | tuple[str, int]] = set()
        self.dqm_run_faults: set[int] = set()  # runs whose DQM histograms answer HTTP 500
        self._uploads = 0
        self._progress = {r: _Progress() for r in self.runs}
        self.quality = QualitySeason(policy, anomalies={
            r.run: Anomaly(r.run, r.quality_anomaly[0], r.quality_anomaly[1], r.quality_anomaly[2], 6)
            for r in runs if r.quality_anomaly})
        self._create_schema()

    # ---- Tier0's release switch (its own table in the data service's database) ----------
    def _create_switch(self, start: datetime) -> None:
        with self.switch_engine.begin() as conn:
            conn.exec_driver_sql(SWITCH_DDL)
            if conn.exec_driver_sql("SELECT COUNT(*) FROM promptreco_status").scalar_one() == 0:
                conn.exec_driver_sql("INSERT INTO promptreco_status VALUES (1, ?)",
                                     (_naive(start - timedelta(days=30)),))

    def promptreco_statuses(self) -> list[int]:
        """What the data service's query returns: the status of every row with the newest change_time."""
        with self.switch_engine.connect() as conn:
            return [int(row[0]) for row in conn.exec_driver_sql(NEWEST_STATUS)]

    @property
    def promptreco_enabled(self) -> bool:
        """Whether Tier0's feeder releases: the newest row says 1 (an empty or ambiguous table stops it)."""
        return self.promptreco_statuses() == [1]

    @property
    def control_actions(self) -> list[ControlAction]:
        """Every row written after the seed, oldest first (by people or by SpyAgency)."""
        with self.switch_engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT status, change_time FROM promptreco_status "
                                        "ORDER BY change_time").all()[1:]
        actions = []
        for status, change_time in rows:
            at = change_time if isinstance(change_time, datetime) else datetime.fromisoformat(str(change_time))
            actions.append(ControlAction(status == 1, at.replace(tzinfo=UTC), at in self._manual_switch))
        return actions

    # ---- CondDB ---------------------------------------------------------------------
    def _create_schema(self) -> None:
        db.metadata.create_all(self.engine)
        stamp = _naive(self.now)
        with self.engine.begin() as conn:
            if conn.execute(db.TAG.select().limit(1)).first():
                return
            conn.execute(insert(db.GLOBAL_TAG), [dict(
                NAME=PROMPT_GT, VALIDITY=0, DESCRIPTION="Prompt reco global tag (simulated)",
                RELEASE="CMSSW_16_0_7_patch1", INSERTION_TIME=stamp, SNAPSHOT_TIME=stamp)])
            conn.execute(insert(db.TAG), [dict(
                NAME=wf.tag, TIME_TYPE=wf.time_type.capitalize(), OBJECT_TYPE=wf.record.removesuffix("Rcd"),
                SYNCHRONIZATION=self.synchronization(wf), DESCRIPTION=f"PCL {wf.producer}", LAST_VALIDATED_TIME=0,
                END_OF_VALIDITY=0, INSERTION_TIME=stamp, MODIFICATION_TIME=stamp, PROTECTION_CODE=0)
                for wf in self.policy.workflows])
            # a second tag of the same record needs a label of its own
            records_seen: set[str] = set()
            rows = []
            for wf in self.policy.workflows:
                rows.append(dict(GLOBAL_TAG_NAME=PROMPT_GT, RECORD=wf.record, TAG_NAME=wf.tag,
                                 LABEL=wf.name if wf.record in records_seen else "-"))
                records_seen.add(wf.record)
            conn.execute(insert(db.GLOBAL_TAG_MAP), rows)

    @staticmethod
    def synchronization(wf: Workflow) -> str:
        """The TAG.SYNCHRONIZATION of a workflow's destination tag in the simulated CondDB."""
        return "prompt" if wf.name in PROMPT_SYNCHRONIZED else "pcl"

    def _upload(self, conn: Any, run: SimRun, wf: Workflow, at: datetime, user: str = "cmst0",
                text: str | None = None) -> bool:
        """Upload run ``run``'s payload as the upload service would; False if the service refused it."""
        # two uploads to one tag and since are never stamped with the same instant in a real DB
        self._uploads += 1
        at = at + timedelta(microseconds=self._uploads)
        if wf.time_type == "lumi":
            step = max(1, run.lumis // max(1, run.iovs_per_lumi_upload))
            sinces = [pack_lumi(run.run, lumi) for lumi in range(1, run.lumis + 1, step)]
        else:
            sinces = [run.run]
        fcsr = self.first_conditions_safe_run()
        if run.run < fcsr:  # the run is locked: its conditions can no longer reach its prompt reco
            if self.synchronization(wf) not in MOVED_BY_UPLOAD_SERVICE:
                self.refused_uploads.append((wf.tag, run.run, at))
                return False
            # the service moves the first since up to fcsr and drops the IOVs below it
            sinces = [pack_lumi(fcsr, 1) if wf.time_type == "lumi" else fcsr]
        digest = hashlib.sha1(f"{wf.tag}:{run.run}:{sinces[0]}:{at.isoformat()}".encode()).hexdigest()
        stamp = _naive(at)
        size = self._payload_size(run.run, wf)
        conn.execute(insert(db.PAYLOAD), [dict(
            HASH=digest, OBJECT_TYPE=wf.record.removesuffix("Rcd"), DATA=(digest.encode() * (size // 40 + 1))[:size],
            STREAMER_INFO=b"{}", VERSION="CMSSW_16_0_7_patch1", INSERTION_TIME=stamp)])
        conn.execute(insert(db.IOV), [dict(TAG_NAME=wf.tag, SINCE=s, INSERTION_TIME=stamp,
                                           PAYLOAD_HASH=digest) for s in sinces])
        # the CondDB API's log row: a fixed text per calibration, never the run (that is only in the file name)
        conn.execute(insert(db.TAG_LOG), [dict(
            TAG_NAME=wf.tag, EVENT_TIME=stamp, USER_NAME=user, HOST_NAME="vocms0314.cern.ch",
            COMMAND="uploadConditions.py", ACTION=f"{len(sinces)} iov(s) inserted; ",
            USER_TEXT=text or f"Tier0 PCL Upload for {wf.name} calib. (prod)")])
        return True

    def _payload_size(self, run: int, wf: Workflow) -> int:
        """Bytes of ``run``'s payload: the quality season's size where the watch reads it, else 160."""
        if wf.quality is None or not wf.quality.reads_uploads:
            return 160
        name, _group = wf.quality.uploads[0].names()[0]
        return max(1, round(self.quality.values(run, wf.name)[name]))

    def upload(self, run: int, workflow: str, at: datetime) -> bool:
        """An expert uploads ``run``'s payload by hand at ``at`` (landing as the upload service decides)."""
        with self.lock:
            sim = self.runs[run]
            wf = self.policy.workflow(workflow)
            with self.engine.begin() as conn:
                landed = self._upload(conn, sim, wf, at, user="alcaexpert", text="re-upload after a fix")
            self._progress[run].uploaded.add(workflow)
            return landed

    def operator_switch(self, enabled: bool, who: str = "t0-operator") -> None:
        """Someone else (the Offline Run Manager, ``who``) inserts a promptreco_status row by hand."""
        with self.lock, self.switch_engine.begin() as conn:
            newest = conn.exec_driver_sql("SELECT MAX(change_time) FROM promptreco_status").scalar_one()
            moment = _naive(self.now)
            if newest is not None:
                newest = newest if isinstance(newest, datetime) else datetime.fromisoformat(str(newest))
                moment = max(moment, newest + timedelta(microseconds=1))
            conn.exec_driver_sql("INSERT INTO promptreco_status VALUES (?, ?)", (int(enabled), moment))
            self._manual_switch.add(moment)

    # ---- time -----------------------------------------------------------------------
    def lock_time(self, run: SimRun) -> datetime:
        d = self.policy.deadlines
        return run.stop + d.reco_delay - d.lock_offset

    def first_conditions_safe_run(self) -> int:
        """The lowest run not locked yet (the next run number if all are)."""
        for number, progress in self._progress.items():
            if progress.locked_at is None:
                return number
        return max(self.runs) + 1

    def advance(self, now: datetime) -> None:
        """Apply every event of the timeline up to ``now`` (idempotent, forward only)."""
        with self.lock:
            if self._applied_until is not None and now < self._applied_until:
                return
            self.now = now
            with self.engine.begin() as conn:
                for sim in self.runs.values():
                    self._advance_run(conn, sim, now)
            self._lock_and_release(now)
            with self.engine.begin() as conn:  # uploads that arrive once their run is locked
                for sim in self.runs.values():
                    self._advance_run(conn, sim, now)
            self._applied_until = now

    def _insertion_time(self, event_time: datetime) -> datetime:
        # A database stamps rows when they are written: never before the previous advance.
        if self._applied_until is None:
            return event_time
        return max(event_time, self._applied_until)

    def _advance_run(self, conn: Any, sim: SimRun, now: datetime) -> None:
        progress = self._progress[sim.run]
        if not progress.started and now >= sim.start:
            conn.execute(insert(db.RUN_INFO), [dict(RUN_NUMBER=sim.run, START_TIME=_naive(sim.start),
                                                    END_TIME=None)])
            progress.started = True
        if progress.started and not progress.stopped and now >= sim.stop:
            conn.execute(update(db.RUN_INFO).where(db.RUN_INFO.c.RUN_NUMBER == sim.run)
                         .values(END_TIME=_naive(sim.stop)))
            progress.stopped = True
        if not progress.stopped:
            return
        for wf in self.policy.workflows:
            if wf.name in progress.uploaded or not sim.runs_producer(wf.producer):
                continue
            outcome = sim.outcome(wf.name)
            if outcome in (Outcome.ON_TIME, Outcome.REUPLOADED) and now >= sim.upload_time:
                self._upload(conn, sim, wf, self._insertion_time(sim.upload_time))
                progress.uploaded.add(wf.name)
            elif outcome is Outcome.LATE and progress.locked_at is not None:
                self._upload(conn, sim, wf, now)  # Tier0's harvest, stuck in a backlog until after the lock
                progress.uploaded.add(wf.name)
        for wf in self.policy.workflows:
            reupload = f"{wf.name}:reupload"
            if (sim.outcome(wf.name) is Outcome.REUPLOADED and progress.locked_at is not None
                    and reupload not in progress.uploaded):
                self._upload(conn, sim, wf, now, user="alcaexpert", text="re-upload after a fix")
                progress.uploaded.add(reupload)

    def _lock_and_release(self, now: datetime) -> None:
        # Tier0 locks and releases strictly in run order, only while promptreco_status is on.
        if not self.promptreco_enabled:
            return
        for number, progress in self._progress.items():
            sim = self.runs[number]
            if progress.locked_at is None:
                if not progress.stopped or now < self.lock_time(sim):
                    return
                progress.locked_at = max(now, self.lock_time(sim))
            if number not in self.released:
                if now < sim.stop + self.policy.deadlines.reco_delay:
                    return
                self.released[number] = now

    # ---- Tier0 Data Service view -----------------------------------------------------
    def run_fault(self, run: int, call: str) -> bool:
        """Whether the per-run Tier0 call ``call`` for ``run`` fails (fault injection)."""
        return run in self.tier0_run_faults or (call, run) in self.tier0_run_faults

    def run_config(self, run: int) -> list[dict[str, Any]]:
        sim = self.runs.get(run)
        if sim is None or not sim.tier0_known or self.now < sim.start:
            return []
        return [{"run": run, "acq_era": sim.era}]

    def express_config(self, run: int) -> list[dict[str, Any]]:
        sim = self.runs.get(run)
        if not self.run_config(run):
            return []
        assert sim is not None
        rows = []
        for stream in sorted(sim.streams):
            skims = sim.alca_skim(stream)
            rows.append({
                "run": run, "stream": stream, "cmssw": "CMSSW_16_0_7_patch1", "scram_arch": "el8_amd64_gcc13",
                "reco_cmssw": "CMSSW_16_0_7_patch1", "reco_scram_arch": "el8_amd64_gcc13",
                "alca_skim": skims, "dqm_seq": "@common", "global_tag": "160X_dataRun3_Express_v2",
                "scenario": "ppEra_Run3_2025", "proc_version": sim.express_version, "multicore": 8,
                "write_tiers": "FEVT,ALCARECO,DQMIO", "write_dqm": True,
            })
        return rows

    def run_stream_done(self, run: int, stream: str) -> bool:
        sim = self.runs.get(run)
        return bool(sim and stream in sim.streams and self.now >= sim.express_done)

    # ---- DQM GUI view ----------------------------------------------------------------
    def dqm_outcome(self, run: int, workflow: str) -> DqmOutcome:
        sim = self.runs.get(run)
        if sim is None or self.now < sim.upload_time:
            return DqmOutcome.NOT_AVAILABLE
        return {Outcome.VETOED: DqmOutcome.VETOED, Outcome.NO_PAYLOAD: DqmOutcome.NO_UPDATE}.get(
            sim.outcome(workflow), DqmOutcome.UPDATED)

    def quality_element(self, run: int, dataset: str, histogram: str) -> SimElement | None:
        """A quality monitor element of ``run``'s harvest output, once that output exists."""
        sim = self.runs.get(run)
        if sim is None or self.now < sim.upload_time:
            return None
        for wf in self.policy.workflows:
            if (wf.quality and wf.quality.dataset and sim.outcome(wf.name) is Outcome.ON_TIME
                    and any(wf.quality.dataset_for(sim.era, sim.express_version, stream) == dataset
                            for stream in sim.runs_producer(wf.producer))):
                return self.quality.element(run, wf.name, histogram)
        return None

    def find_dqm_workflow(self, run: int, dataset: str, histogram: str) -> Workflow | None:
        """The DQM-checked workflow of ``run`` this dataset and histogram belong to (its era and version too)."""
        sim = self.runs.get(run)
        if sim is None:
            return None
        for wf in self.policy.workflows:
            if (wf.dqm and wf.dqm.histogram == histogram
                    and any(wf.dqm.dataset_for(sim.era, sim.express_version, stream) == dataset
                            for stream in sim.runs_producer(wf.producer))):
                return wf
        return None
