"""Reader of the CondDB (Oracle CMS_CONDITIONS in production, SQLite locally).

Reads are incremental: new runs by run number from RUN_INFO, new uploads by
IOV insertion time. Each upload is attributed to the run whose PCL made it,
taken from the TAG_LOG entry the upload wrote (its user text names the run);
a payload for run R that landed on a later run's since is therefore *late*
for R, and not a payload for the later run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, create_engine, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from ..conddb_schema import IOV, RUN_INFO, TAG, TAG_LOG
from ..models import RunInfo, Upload
from ..since import run_of_since
from .errors import CondDBProtocolError, CondDBUnavailable

UPLOAD_RUN = re.compile(r"\brun\s*:?\s*([1-9][0-9]{1,6})\b", re.IGNORECASE)

#: Re-read this far behind the cursor: a transaction that commits late may carry
#: an insertion time just before rows already read. Duplicates are dropped downstream.
CURSOR_OVERLAP = timedelta(minutes=5)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


@dataclass(frozen=True)
class UploadBatch:
    """Uploads read since a cursor, and the cursor to use next time."""

    uploads: tuple[Upload, ...]
    cursor: datetime | None


def make_engine(url: str, schema: str | None = None) -> Engine:
    """An engine for ``url``; ``schema`` (e.g. CMS_CONDITIONS) qualifies every table."""
    engine = create_engine(url, pool_pre_ping=True)
    if schema:
        engine = engine.execution_options(schema_translate_map={None: schema})
    return engine


class CondDBClient:
    """Reads runs, tags and PCL uploads from a CondDB."""

    def __init__(self, url_or_engine: str | Engine, schema: str | None = None) -> None:
        self.engine = make_engine(url_or_engine, schema) if isinstance(url_or_engine, str) else url_or_engine

    def close(self) -> None:
        self.engine.dispose()

    def _rows(self, statement):  # type: ignore[no-untyped-def]
        try:
            with self.engine.connect() as conn:
                return conn.execute(statement).all()
        except DBAPIError as exc:
            # start the next poll on fresh connections: a pooled one may point at a replaced SQLite
            # file or a session the server has dropped
            self.engine.dispose()
            if exc.connection_invalidated or "unable to open" in str(exc).lower():
                raise CondDBUnavailable(f"cannot reach the database: {exc.orig}") from exc
            raise CondDBProtocolError(f"query failed, is this a CondDB schema? {exc.orig}") from exc
        except SQLAlchemyError as exc:
            raise CondDBUnavailable(f"query failed: {exc}") from exc

    def runs(self, after_run: int, also: Iterable[int] = (), limit: int = 5000) -> list[RunInfo]:
        """Runs above ``after_run`` (in run order), plus the runs in ``also`` (to see their stop)."""
        statement = (select(RUN_INFO).where(RUN_INFO.c.RUN_NUMBER > after_run)
                     .order_by(RUN_INFO.c.RUN_NUMBER).limit(limit))
        rows = list(self._rows(statement))
        extra = sorted(set(also))
        for start in range(0, len(extra), 500):
            chunk = extra[start:start + 500]
            rows += self._rows(select(RUN_INFO).where(RUN_INFO.c.RUN_NUMBER.in_(chunk)))
        result: dict[int, RunInfo] = {}
        for row in rows:
            start_time = _utc(row.START_TIME)
            if not isinstance(row.RUN_NUMBER, int) or start_time is None:
                raise CondDBProtocolError(f"RUN_INFO row has no run number or start time: {tuple(row)!r}")
            result[row.RUN_NUMBER] = RunInfo(row.RUN_NUMBER, start_time, _utc(row.END_TIME))
        return [result[r] for r in sorted(result)]

    def latest_run_before(self, moment: datetime) -> int:
        """The highest run that started before ``moment`` (0 if none): where discovery starts."""
        statement = (select(RUN_INFO.c.RUN_NUMBER).where(RUN_INFO.c.START_TIME < _naive(moment))
                     .order_by(RUN_INFO.c.RUN_NUMBER.desc()).limit(1))
        rows = self._rows(statement)
        return rows[0][0] if rows else 0

    def tag_time_types(self, tags: Iterable[str]) -> dict[str, str]:
        """Tag name → time type, for the tags that exist."""
        rows = self._rows(select(TAG.c.NAME, TAG.c.TIME_TYPE).where(TAG.c.NAME.in_(sorted(set(tags)))))
        return {name: time_type for name, time_type in rows}

    def uploads_since(self, tags: Mapping[str, str], cursor: datetime | None) -> UploadBatch:
        """IOVs inserted into ``tags`` (name → time type) after ``cursor``, attributed to runs."""
        if not tags:
            return UploadBatch((), cursor)
        names = sorted(tags)
        iov_query = select(IOV).where(IOV.c.TAG_NAME.in_(names))
        log_query = select(TAG_LOG.c.TAG_NAME, TAG_LOG.c.EVENT_TIME, TAG_LOG.c.USER_TEXT).where(
            TAG_LOG.c.TAG_NAME.in_(names))
        if cursor is not None:
            floor = _naive(cursor - CURSOR_OVERLAP)
            iov_query = iov_query.where(IOV.c.INSERTION_TIME > floor)
            log_query = log_query.where(TAG_LOG.c.EVENT_TIME > floor)
        iov_rows = self._rows(iov_query)
        upload_runs: dict[tuple[str, datetime], int] = {}
        for tag, event_time, text in self._rows(log_query):
            match = UPLOAD_RUN.search(text or "")
            if match:
                upload_runs[(tag, event_time)] = int(match.group(1))
        uploads: list[Upload] = []
        newest = cursor
        for row in iov_rows:
            if not isinstance(row.SINCE, int) or row.INSERTION_TIME is None or not row.PAYLOAD_HASH:
                raise CondDBProtocolError(f"IOV row of {row.TAG_NAME} is malformed: {tuple(row)!r:.160}")
            inserted = _utc(row.INSERTION_TIME)
            assert inserted is not None
            since_run = run_of_since(row.SINCE, tags[row.TAG_NAME])
            for_run = upload_runs.get((row.TAG_NAME, row.INSERTION_TIME), since_run)
            uploads.append(Upload(row.TAG_NAME, row.SINCE, since_run, for_run, row.PAYLOAD_HASH, inserted))
            if newest is None or inserted > newest:
                newest = inserted
        return UploadBatch(tuple(uploads), newest)
