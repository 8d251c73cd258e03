"""A CMS world built only from the facts in ``shared/reference/CMS.md``, independent of SpyAgency's simulator.

Not a test module. It shares no code with ``spyagency``: its CondDB tables are created from
raw DDL, its Tier0 Data Service is a few lines of ``http.server``, and its rules are written
again from the reference facts:

- Tier0 locks a stopped run at ``stop + 48 h - 30 min`` in run order, at its feeder's polls (every
  30 s) while the latest ``promptreco_status`` row is 1, and releases it 30 min later;
- ``firstconditionsaferun`` is the lowest unlocked run Tier0 knows, else max(run) + 1;
- the upload service takes the since from the file (the run, or run << 32 | lumi); below fcsr
  it moves the since up to fcsr for tags synchronized prompt/express/hlt and refuses the upload
  for ``pcl`` tags; TAG_LOG gets "1 iov(s) inserted; " and a fixed text naming no run;
- the switch is Tier0's two-column table (status, change_time): no key, no user; the rows with the
  newest change_time are read, two that disagree stop the feeder; people and SpyAgency (SQL
  steering) both insert into it; while it is 0 nothing is locked (locks wait for the resume).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

LOCK_AFTER = timedelta(hours=48) - timedelta(minutes=30)
RELEASE_AFTER = timedelta(hours=48)
#: Tier0Feeder's pollInterval in seconds (dmwm/T0 ``etc/Tier0Config.py``: ``config.Tier0Feeder.pollInterval = 30``)
FEEDER_POLL = timedelta(seconds=30)

CONDDB_DDL = """
CREATE TABLE TAG (NAME VARCHAR(100) PRIMARY KEY, TIME_TYPE VARCHAR(4) NOT NULL, OBJECT_TYPE VARCHAR(100) NOT NULL,
  SYNCHRONIZATION VARCHAR(20) NOT NULL, DESCRIPTION VARCHAR(4000) NOT NULL, LAST_VALIDATED_TIME BIGINT NOT NULL,
  END_OF_VALIDITY BIGINT NOT NULL, INSERTION_TIME TIMESTAMP NOT NULL, MODIFICATION_TIME TIMESTAMP NOT NULL,
  PROTECTION_CODE INTEGER NOT NULL);
CREATE TABLE PAYLOAD (HASH CHAR(40) PRIMARY KEY, OBJECT_TYPE VARCHAR(100) NOT NULL, DATA BLOB NOT NULL,
  STREAMER_INFO BLOB NOT NULL, VERSION VARCHAR(20) NOT NULL, INSERTION_TIME TIMESTAMP NOT NULL);
CREATE TABLE IOV (TAG_NAME VARCHAR(100) NOT NULL REFERENCES TAG(NAME), SINCE BIGINT NOT NULL,
  INSERTION_TIME TIMESTAMP NOT NULL, PAYLOAD_HASH CHAR(40) NOT NULL REFERENCES PAYLOAD(HASH),
  PRIMARY KEY (TAG_NAME, SINCE, INSERTION_TIME));
CREATE TABLE TAG_LOG (TAG_NAME VARCHAR(100) NOT NULL REFERENCES TAG(NAME), EVENT_TIME TIMESTAMP NOT NULL,
  ACTION VARCHAR(100) NOT NULL, USER_NAME VARCHAR(100) NOT NULL, HOST_NAME VARCHAR(100) NOT NULL,
  COMMAND VARCHAR(500) NOT NULL, USER_TEXT VARCHAR(4000) NOT NULL);
CREATE TABLE RUN_INFO (RUN_NUMBER INTEGER PRIMARY KEY, START_TIME TIMESTAMP NOT NULL, END_TIME TIMESTAMP);
"""
SWITCH_DDL = "CREATE TABLE promptreco_status (status INTEGER NOT NULL, change_time TIMESTAMP NOT NULL)"
NEWEST = "SELECT status FROM promptreco_status WHERE change_time = (SELECT MAX(change_time) FROM promptreco_status)"


def _feeder_poll_at_or_after(moment: datetime) -> datetime:
    """The first poll of Tier0's feeder at or after ``moment`` (it polls every ``FEEDER_POLL``)."""
    epoch = datetime(2000, 1, 1, tzinfo=moment.tzinfo)
    polls = -((epoch - moment) // FEEDER_POLL)  # ceiling division of timedeltas
    return epoch + polls * FEEDER_POLL


def _sql_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


@dataclass(frozen=True)
class Calibration:
    """One PCL workflow as the reference knows it: stream, producer, destination tag and its kind."""

    stream: str
    producer: str
    tag: str
    time_type: str  # Run | Lumi
    synchronization: str  # prompt | pcl


@dataclass
class Run:
    """A run of the reference world."""

    number: int
    start: datetime
    stop: datetime | None = None
    streams: dict[str, str | None] = field(default_factory=dict)  # stream → alca_skim
    streams_done_at: datetime | None = None
    locked_at: datetime | None = None
    released_at: datetime | None = None
    tier0_knows: bool = True


class ReferenceWorld:
    """CondDB (SQLite file), Tier0's switch table (SQLite file) and the Data Service (HTTP on 127.0.0.1)."""

    def __init__(self, workdir: Path, calibrations: list[Calibration], now: datetime) -> None:
        self.now = now
        self.calibrations = {c.tag: c for c in calibrations}
        self.runs: dict[int, Run] = {}
        self.failing_runs: set[int] = set()  # per-run calls answer HTTP 500
        self.tier0_down = False  # every call of the data service answers HTTP 503 (an outage)
        self.asked: list[tuple[str, dict[str, str]]] = []  # the data service's access log: (call, query)
        self.lock = threading.RLock()
        self.conddb_path = workdir / "reference-conddb.sqlite"
        self.tier0_path = workdir / "reference-tier0.sqlite"
        self._uploads = 0
        with self._conddb() as db:
            db.executescript(CONDDB_DDL)
            for c in calibrations:
                db.execute("INSERT INTO TAG VALUES (?,?,?,?,?,?,?,?,?,?)",
                           (c.tag, c.time_type, "Obj", c.synchronization, "", 0, 0, _sql_time(now), _sql_time(now), 0))
        with self._tier0() as db:
            db.execute(SWITCH_DDL)
            db.execute("INSERT INTO promptreco_status VALUES (1, ?)", (_sql_time(now - timedelta(days=30)),))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.handle_error = lambda *_args: None  # type: ignore[method-assign]  # a client hung up: no trace
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    # ---- plumbing --------------------------------------------------------------------
    def _conddb(self) -> sqlite3.Connection:
        return sqlite3.connect(self.conddb_path)

    def _tier0(self) -> sqlite3.Connection:
        return sqlite3.connect(self.tier0_path)

    @property
    def conddb_url(self) -> str:
        return f"sqlite:///{self.conddb_path}"

    @property
    def switch_url(self) -> str:
        return f"sqlite:///{self.tier0_path}"

    @property
    def tier0_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/t0wmadatasvc/prod/"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ---- what happens in the world ----------------------------------------------------
    def start_run(self, number: int, streams: dict[str, str | None], tier0_knows: bool = True) -> None:
        with self.lock:
            self.runs[number] = Run(number, self.now, streams=streams, tier0_knows=tier0_knows)
            with self._conddb() as db:
                db.execute("INSERT INTO RUN_INFO VALUES (?, ?, NULL)", (number, _sql_time(self.now)))

    def stop_run(self, number: int) -> None:
        with self.lock:
            self.runs[number].stop = self.now
            with self._conddb() as db:
                db.execute("UPDATE RUN_INFO SET END_TIME = ? WHERE RUN_NUMBER = ?", (_sql_time(self.now), number))

    def express_done(self, number: int) -> None:
        with self.lock:
            self.runs[number].streams_done_at = self.now

    def fcsr(self) -> int:
        with self.lock:
            unlocked = [r.number for r in self.runs.values() if r.tier0_knows and r.locked_at is None]
            return min(unlocked) if unlocked else max(self.runs, default=0) + 1

    def switch_enabled(self) -> bool:
        with self._tier0() as db:
            statuses = {row[0] for row in db.execute(NEWEST)}
        return statuses == {1}  # paused, or two newest rows that disagree: Tier0's feeder does not release

    def person_sets_switch(self, enabled: bool, who: str = "t0-operator") -> None:
        with self._tier0() as db:
            db.execute("INSERT INTO promptreco_status VALUES (?, ?)", (int(enabled), _sql_time(self.now)))

    def upload(self, number: int, tag: str, by: str = "cmst0", lumis: int = 3) -> bool:
        """The upload service receives run ``number``'s file for ``tag``; False if it refused it."""
        with self.lock:
            cal = self.calibrations[tag]
            fcsr = self.fcsr()
            if cal.time_type == "Lumi":
                sinces = [(number << 32) | lumi for lumi in range(1, lumis + 1)]
            else:
                sinces = [number]
            if number < fcsr:
                if cal.synchronization == "pcl":
                    return False
                sinces = [(fcsr << 32) | 1 if cal.time_type == "Lumi" else fcsr]
            self._uploads += 1
            stamp = _sql_time(self.now + timedelta(microseconds=self._uploads))
            digest = f"{self._uploads:040x}"
            with self._conddb() as db:
                db.execute("INSERT INTO PAYLOAD VALUES (?,?,?,?,?,?)",
                           (digest, "Obj", b"x", b"{}", "CMSSW_16_0_7", stamp))
                db.executemany("INSERT INTO IOV VALUES (?,?,?,?)", [(tag, s, stamp, digest) for s in sinces])
                db.execute("INSERT INTO TAG_LOG VALUES (?,?,?,?,?,?,?)",
                           (tag, stamp, "1 iov(s) inserted; ", by, "vocms0314", "uploadConditions.py",
                            f"Tier0 PCL Upload for {cal.producer} (prod)"))
            return True

    def advance(self, to: datetime) -> None:
        """Move time on; at each feeder poll while the switch is on, Tier0 locks and releases in run order."""
        with self.lock:
            since, self.now = self.now, to
            if not self.switch_enabled():  # the switch as it stood since the last event
                return
            first = _feeder_poll_at_or_after(since + timedelta(microseconds=1))
            if first > to:
                return
            for run in sorted(self.runs.values(), key=lambda r: r.number):
                if not run.tier0_knows:
                    continue
                if run.locked_at is None:
                    if run.stop is None:
                        return
                    at = max(first, _feeder_poll_at_or_after(run.stop + LOCK_AFTER))
                    if at > to:
                        return
                    run.locked_at = at
                if run.released_at is None:
                    at = max(first, _feeder_poll_at_or_after(run.stop + RELEASE_AFTER))
                    if at > to:
                        return
                    run.released_at = at

    # ---- the Tier0 Data Service --------------------------------------------------------
    def _answer(self, call: str, query: dict[str, str]) -> tuple[int, Any]:
        with self.lock:
            self.asked.append((call, query))
            if self.tier0_down:
                return 503, {"error": "service unavailable"}
            if call == "firstconditionsaferun":
                return 200, {"result": [self.fcsr()]}
            if call == "promptreco_status":
                with self._tier0() as db:
                    return 200, {"result": [bool(row[0]) for row in db.execute(NEWEST)]}
            run = self.runs.get(int(query.get("run", "0") or 0))
            if run is not None and run.number in self.failing_runs:
                return 500, {"error": "internal error"}
            if call == "run_config":
                return 200, {"result": [{"run": run.number, "acq_era": "Run2026D"}] if run and run.tier0_knows else []}
            if call == "express_config":
                rows = [{"run": run.number, "stream": s, "alca_skim": skim, "proc_version": 1,
                         "global_tag": "160X_dataRun3_Express_v2", "scenario": "ppEra_Run3_2025"}
                        for s, skim in sorted(run.streams.items())] if run and run.tier0_knows else []
                return 200, {"result": rows}
            if call == "run_stream_done":
                done = bool(run and run.streams_done_at is not None and query.get("stream") in run.streams)
                return 200, {"result": [done]}
        return 404, {"error": "unknown call"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        world = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16  # headers and body in one segment: no delayed-ACK stall

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                call = parts.path.removeprefix("/t0wmadatasvc/prod/").strip("/")
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                status, body = world._answer(call, query)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
