"""Reader of the CondDB (Oracle CMS_CONDITIONS in production, SQLite locally).

Reads are incremental: new runs by run number from RUN_INFO, new uploads by IOV
insertion time. Every IOV read is a range on IOV's primary key (TAG_NAME, SINCE,
INSERTION_TIME), the only index the CondDB API creates: one tag at a time, sinces
from the lowest run still watched. The reader says what an IOV is (tag, since,
insertion time) and never whose harvest it is: see ``attribution``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Executable, Row, Select, func, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from spyagency.core.models import RunInfo, TagInfo, Upload
from spyagency.core.since import run_of_since, run_range, since_floor
from spyagency.database_urls import create_database_engine
from spyagency.sources.conddb_schema import IOV, PAYLOAD, RUN_INFO, TAG
from spyagency.sources.errors import CondDBProtocolError, CondDBUnavailable

#: Re-read this far behind the cursor: a transaction that commits late may carry
#: an insertion time just before rows already read. Duplicates are dropped downstream.
CURSOR_OVERLAP = timedelta(minutes=5)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


@dataclass(frozen=True)
class UploadBatch:
    """Uploads read since a cursor, and the cursor to use next time."""

    uploads: tuple[Upload, ...]
    cursor: datetime | None


def make_engine(url: str, schema: str | None = None, **options: Any) -> Engine:
    """An engine for ``url``; ``schema`` (e.g. CMS_CONDITIONS) qualifies every table; ``options`` go to
    ``create_engine`` (Oracle's thick mode)."""
    engine = create_database_engine(url, pool_pre_ping=True, **options)
    if schema:
        engine = engine.execution_options(schema_translate_map={None: schema})
    return engine


def payload_size_query(dialect: str, hashes: Sequence[str]) -> Select[tuple[str, int]]:
    """HASH and size in bytes of DATA of the payloads ``hashes``, in ``dialect``'s SQL."""
    # Oracle's LENGTH takes no BLOB; PostgreSQL's and SQLite's count a bytea's or a blob's bytes
    size = func.dbms_lob.getlength(PAYLOAD.c.DATA) if dialect == "oracle" else func.length(PAYLOAD.c.DATA)
    return select(PAYLOAD.c.HASH, size.label("size")).where(PAYLOAD.c.HASH.in_(hashes))


class CondDBClient:
    """Reads runs, tags and PCL uploads from a CondDB."""

    def __init__(self, url_or_engine: str | Engine, schema: str | None = None, **engine_options: Any) -> None:
        self.engine = (make_engine(url_or_engine, schema, **engine_options) if isinstance(url_or_engine, str)
                       else url_or_engine)

    def close(self) -> None:
        self.engine.dispose()

    def _rows(self, statement: Executable) -> Sequence[Row[Any]]:
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

    def has_iov(self, tag: str, run: int, time_type: str) -> bool:
        """Whether ``tag`` has an IOV whose since lies in ``run``."""
        low, high = run_range(run, time_type)
        query = select(IOV.c.SINCE).where(IOV.c.TAG_NAME == tag, IOV.c.SINCE >= low, IOV.c.SINCE < high).limit(1)
        return bool(self._rows(query))

    def payload_sizes(self, hashes: Iterable[str]) -> dict[str, int]:
        """Size in bytes of each payload's DATA, by hash (a hash the PAYLOAD table lacks is left out)."""
        wanted = sorted(set(hashes))
        sizes: dict[str, int] = {}
        for start in range(0, len(wanted), 500):  # Oracle takes at most 1,000 values in an IN list
            for row in self._rows(payload_size_query(self.engine.dialect.name, wanted[start:start + 500])):
                if isinstance(row.size, bool) or not isinstance(row.size, int) or row.size < 0:
                    raise CondDBProtocolError(f"payload {row.HASH} has no readable size: {row.size!r:.40}")
                sizes[row.HASH] = row.size
        return sizes

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

    def first_run(self) -> int | None:
        """The lowest run in RUN_INFO (a primary-key lookup), None if it is empty."""
        rows = self._rows(select(RUN_INFO.c.RUN_NUMBER).order_by(RUN_INFO.c.RUN_NUMBER).limit(1))
        return rows[0][0] if rows else None

    def latest_run_before(self, moment: datetime) -> int:
        """The highest run that started before ``moment`` (0 if none): where discovery starts."""
        statement = (select(RUN_INFO.c.RUN_NUMBER).where(RUN_INFO.c.START_TIME < _naive(moment))
                     .order_by(RUN_INFO.c.RUN_NUMBER.desc()).limit(1))
        rows = self._rows(statement)
        return rows[0][0] if rows else 0

    def tag_info(self, tags: Iterable[str]) -> dict[str, TagInfo]:
        """Time type and synchronization of the tags that exist."""
        rows = self._rows(select(TAG.c.NAME, TAG.c.TIME_TYPE, TAG.c.SYNCHRONIZATION)
                          .where(TAG.c.NAME.in_(sorted(set(tags)))))
        info: dict[str, TagInfo] = {}
        for name, time_type, synchronization in (tuple(row) for row in rows):
            if not isinstance(time_type, str) or not isinstance(synchronization, str):
                raise CondDBProtocolError(f"TAG row of {name} lacks TIME_TYPE or SYNCHRONIZATION")
            info[name] = TagInfo(name, time_type.lower(), synchronization.lower())
        return info

    def uploads_since(self, tags: Mapping[str, TagInfo], cursor: datetime | None, from_run: int) -> UploadBatch:
        """IOVs inserted into ``tags`` after ``cursor`` with a since in run ``from_run`` or later.

        One query per tag, each a range scan of IOV's primary key: ``TAG_NAME = t AND SINCE >= s``.
        """
        uploads: list[Upload] = []
        newest = cursor
        floor = _naive(cursor - CURSOR_OVERLAP) if cursor is not None else None
        for name in sorted(tags):
            info = tags[name]
            if info.time_type not in ("run", "lumi"):
                raise CondDBProtocolError(f"tag {name} is {info.time_type}-based; PCL tags are run- or lumi-based")
            query = select(IOV).where(IOV.c.TAG_NAME == name, IOV.c.SINCE >= since_floor(from_run, info.time_type))
            if floor is not None:
                query = query.where(IOV.c.INSERTION_TIME > floor)
            for row in self._rows(query):
                if not isinstance(row.SINCE, int) or row.INSERTION_TIME is None or not row.PAYLOAD_HASH:
                    raise CondDBProtocolError(f"IOV row of {row.TAG_NAME} is malformed: {tuple(row)!r:.160}")
                inserted = _utc(row.INSERTION_TIME)
                assert inserted is not None
                since_run = run_of_since(row.SINCE, info.time_type)
                uploads.append(Upload(name, row.SINCE, since_run, row.PAYLOAD_HASH, inserted))
                if newest is None or inserted > newest:
                    newest = inserted
        return UploadBatch(tuple(uploads), newest)
