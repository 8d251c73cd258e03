"""Moving Tier0's release switch as its own operators do: a row in ``promptreco_status``, nothing else.

The table (t0wmadatasvc ``etc/OracleSchema.sql``) has two columns, ``status`` and
``change_time``: no key, no user. The newest row by ``change_time`` holds; Tier0 reads
``SELECT status ... WHERE change_time = (SELECT MAX(change_time) ...)``. The Offline Run
Manager's account may only SELECT and INSERT, so SpyAgency never creates or alters it.

SpyAgency knows its own rows from its own records: before a row is written, the exact
``change_time`` (microseconds) is stored with the outbox entry. A resend looks for that row
first. A resume is written only when the newest row is SpyAgency's own pause, and a pause only
when no one else has paused: the check and the insert share one transaction, made exclusive by
``LOCK TABLE`` on Oracle, SERIALIZABLE on PostgreSQL and ``BEGIN IMMEDIATE`` on SQLite.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, Connection, DateTime, Integer, MetaData, Table, func, insert, select, text

from spyagency.clock import utcnow
from spyagency.core.models import OutboxAction, OutboxEntry
from spyagency.database_urls import create_database_engine
from spyagency.errors import SwitchRowAhead, SwitchTakenOver

PAUSE = OutboxAction.PAUSE.value
#: How far ahead of SpyAgency's clock the newest row may be stamped (clock skew) before SpyAgency refuses to
#: write after it (SPYAGENCY_SWITCH_AHEAD_TOLERANCE_S).
AHEAD_TOLERANCE = timedelta(minutes=1)
#: The only status Tier0 releases on (``status == 1``); every other value pauses it.
RELEASING = 1
#: Whether the session's user owns promptreco_status or was granted INSERT on it (directly, through a role
#: enabled in the session, or PUBLIC): Oracle's catalog views ALL_TABLES, ALL_TAB_PRIVS and SESSION_ROLES.
ORACLE_INSERT_GRANT = """
SELECT COUNT(*) FROM (
  SELECT 1 FROM all_tables
   WHERE table_name = 'PROMPTRECO_STATUS' AND owner = USER AND owner = NVL(UPPER(:owner), USER)
  UNION ALL
  SELECT 1 FROM all_tab_privs
   WHERE table_name = 'PROMPTRECO_STATUS' AND privilege = 'INSERT' AND table_schema = NVL(UPPER(:owner), USER)
     AND (grantee = USER OR grantee = 'PUBLIC' OR grantee IN (SELECT role FROM session_roles)))
"""


def switch_table(schema: str | None = None) -> Table:
    """Tier0's ``promptreco_status`` as it is: (status, change_time), in ``schema`` if given."""
    return Table("promptreco_status", MetaData(schema=schema),
                 Column("status", Integer, nullable=False),
                 Column("change_time", DateTime, nullable=False))


@dataclass(frozen=True)
class SwitchRow:
    """One row of the switch: 1 = releasing, 0 = paused, from ``change_time`` on."""

    status: int
    change_time: datetime

    @property
    def releasing(self) -> bool:
        """As Tier0 reads it: 1 releases; any other value (0, a person's 2, …) is a pause."""
        return self.status == RELEASING


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


#: Remembers, in SpyAgency's store, the change_time about to be written for an outbox entry (committed first).
Remember = Callable[[OutboxEntry, datetime], None]
#: Every (status, change_time) SpyAgency has ever written or tried to write.
OwnWrites = Callable[[], set[tuple[int, datetime]]]


class SqlControl:
    """Pauses and resumes Tier0 by inserting ``(status, change_time)`` rows, exactly once, never over a person."""

    def __init__(self, url: str, *, remember: Remember, own_writes: OwnWrites, schema: str | None = None,
                 now: Callable[[], datetime] = utcnow, engine_options: dict[str, Any] | None = None,
                 ahead_tolerance: timedelta = AHEAD_TOLERANCE) -> None:
        self.engine = create_database_engine(url, **(engine_options or {}))
        self.table = switch_table(schema)
        self._remember = remember
        self._own_writes = own_writes
        self._now = now
        self._ahead_tolerance = ahead_tolerance

    def close(self) -> None:
        self.engine.dispose()

    def __call__(self, entry: OutboxEntry) -> None:
        status = 0 if entry.action == PAUSE else 1
        recorded = {_naive(t) for t in _recorded_times(entry)}
        own = {(s, _naive(t)) for s, t in self._own_writes()}
        with self._exclusive() as conn:
            if recorded and conn.execute(select(func.count()).select_from(self.table).where(
                    self.table.c.status == status, self.table.c.change_time.in_(recorded))).scalar_one():
                return  # a resend after a crash: the row is there already
            newest = self._newest(conn)
            self._check_may_write(status, newest, own)
            if newest and len(newest) == 1 and newest[0].status == status and (status, newest[0].change_time) in own:
                return  # SpyAgency's own row already says so
            moment = _naive(self._now())
            if newest and newest[0].change_time - moment > self._ahead_tolerance:
                ahead = newest[0].change_time - moment
                raise SwitchRowAhead(
                    f"the newest promptreco_status row ({newest[0].status}) is stamped "
                    f"{newest[0].change_time:%Y-%m-%d %H:%M:%S} UTC, {ahead} ahead of SpyAgency's clock: "
                    f"no {entry.action} is written after it (SpyAgency never stamps a row ahead to outrank "
                    f"another); fix the clock of whoever wrote it")
            if newest and moment <= newest[0].change_time:
                moment = newest[0].change_time + _TICK  # newer than every row, or it would not count
            self._remember(entry, moment.replace(tzinfo=UTC))
            conn.execute(insert(self.table).values(status=status, change_time=moment))

    @staticmethod
    def _check_may_write(status: int, newest: list[SwitchRow], own: set[tuple[int, datetime]]) -> None:
        if not newest:
            return
        ambiguous = len(newest) > 1
        top = newest[0]
        if status == 1:
            if ambiguous or top.status != 0 or (0, top.change_time) not in own:
                who = "two rows share the newest change_time" if ambiguous else (
                    f"the newest row ({top.status} at {top.change_time:%Y-%m-%d %H:%M:%S.%f}) is not SpyAgency's pause")
                raise SwitchTakenOver(f"not resuming: {who}; someone else holds the switch",
                                      enabled=top.releasing and not ambiguous)
        elif not top.releasing and not ambiguous and (top.status, top.change_time) not in own:
            raise SwitchTakenOver(f"not pausing: someone else paused Tier0 at {top.change_time:%Y-%m-%d %H:%M} UTC; "
                                  f"SpyAgency leaves their pause alone", enabled=False)

    def _newest(self, conn: Connection) -> list[SwitchRow]:
        latest = select(func.max(self.table.c.change_time)).scalar_subquery()
        rows = conn.execute(select(self.table.c.status, self.table.c.change_time)
                            .where(self.table.c.change_time == latest)).all()
        return [SwitchRow(int(r.status), r.change_time) for r in rows]

    @contextmanager
    def _exclusive(self) -> Iterator[Connection]:
        """A transaction no other writer of the switch can interleave with."""
        dialect = self.engine.dialect.name
        if dialect == "sqlite":
            with self.engine.connect() as raw:
                conn = raw.execution_options(isolation_level="AUTOCOMMIT")
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.exec_driver_sql("ROLLBACK")
                    raise
                conn.exec_driver_sql("COMMIT")
            return
        options = {"isolation_level": "SERIALIZABLE"} if dialect == "postgresql" else {}
        with self.engine.connect() as raw, raw.execution_options(**options).begin():
            conn = raw
            if dialect == "oracle":  # INSERT privilege suffices for a table lock on Oracle
                name = f"{self.table.schema}.{self.table.name}" if self.table.schema else self.table.name
                conn.exec_driver_sql(f"LOCK TABLE {name} IN EXCLUSIVE MODE")
            yield conn

    def newest(self) -> list[SwitchRow]:
        """The rows sharing the newest change_time (Tier0 reads the switch from them)."""
        with self.engine.connect() as conn:
            return self._newest(conn)

    def current(self) -> bool | None:
        """The switch as Tier0 reads it; None when the table is empty or the newest rows disagree."""
        statuses = {row.status for row in self.newest()}
        return statuses.pop() == RELEASING if len(statuses) == 1 else None

    def insert_granted(self) -> bool:
        """Whether this account may INSERT into promptreco_status, asked of the database's catalog: nothing is
        inserted. Raises when the table cannot be read."""
        with self.engine.connect() as conn:
            conn.execute(select(func.count()).select_from(self.table)).scalar()  # readable, and there
            dialect = conn.dialect.name
            if dialect == "postgresql":
                name = f"{self.table.schema}.{self.table.name}" if self.table.schema else self.table.name
                return bool(conn.execute(text("SELECT has_table_privilege(current_user, :name, 'INSERT')"),
                                         {"name": name}).scalar())
            if dialect == "oracle":
                return bool(conn.execute(text(ORACLE_INSERT_GRANT), {"owner": self.table.schema}).scalar())
            if dialect == "sqlite":
                path = conn.engine.url.database
                return bool(path) and os.access(str(path), os.W_OK) \
                    and os.access(os.path.dirname(os.path.abspath(str(path))), os.W_OK)
            return False  # a database we cannot ask: not proven

    def rows(self) -> list[SwitchRow]:
        """Every row, oldest first."""
        with self.engine.connect() as conn:
            return [SwitchRow(int(r.status), r.change_time) for r in conn.execute(
                select(self.table.c.status, self.table.c.change_time).order_by(self.table.c.change_time))]


_TICK = timedelta(microseconds=1)


def _recorded_times(entry: OutboxEntry) -> list[datetime]:
    stored = (entry.detail or {}).get("change_times", [])
    return [datetime.fromisoformat(str(value)) for value in stored] if isinstance(stored, list) else []
