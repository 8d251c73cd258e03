"""Delivering steering actions to Tier0: an HTTP control endpoint or a row in ``promptreco_status``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, insert, select
from sqlalchemy.exc import IntegrityError

from spyagency.clock import utcnow
from spyagency.decide.steering import PAUSE
from spyagency.errors import SwitchTakenOver, UnexpectedDuplicate
from spyagency.models import OutboxEntry
from spyagency.observe.errors import Tier0ProtocolError, Tier0Unavailable
from spyagency.observe.http import JsonHttp
from spyagency.store.database import create_database_engine

#: SpyAgency's rows in promptreco_status carry this prefix before the idempotency key.
OWN_USER_PREFIX = "spyagency:"

_meta = MetaData()
#: Tier0's switch table: the latest row by change_time holds (1 = releasing, 0 = paused).
PROMPTRECO_STATUS = Table(
    "promptreco_status", _meta,
    Column("status", Integer, nullable=False),
    Column("change_time", DateTime, nullable=False),
    Column("username", String(200), nullable=False),
)


class HttpControl:
    """POSTs ``{"enabled": bool}`` with an ``Idempotency-Key`` header to the Tier0 control endpoint."""

    def __init__(self, url: str, timeout: float = 10.0, retries: int = 3) -> None:
        base, _, self.path = url.rpartition("/")
        self.http = JsonHttp(base, unavailable=Tier0Unavailable, protocol_error=Tier0ProtocolError,
                             timeout=timeout, retries=retries)

    def close(self) -> None:
        self.http.close()

    def __call__(self, row: OutboxEntry) -> None:
        reply = self.http.post(self.path, {"enabled": row.action != PAUSE, "reason": row.reason},
                               headers={"Idempotency-Key": row.idempotency_key})
        if _says_duplicate(reply) and row.attempts == 0:
            raise UnexpectedDuplicate(
                f"Tier0 calls {row.idempotency_key} a duplicate, but SpyAgency never sent it: the key collides "
                f"with another action and this {row.action} was not applied")


def _says_duplicate(reply: Any) -> bool:
    result = reply.get("result") if isinstance(reply, dict) else None
    first = result[0] if isinstance(result, list) and result else None
    return isinstance(first, dict) and first.get("duplicate") is True


class SqlControl:
    """Inserts a ``promptreco_status`` row; the idempotency key rides in ``username`` so a resend is a no-op.

    A resume is written only if the latest row is SpyAgency's own pause: a change someone else
    made since is never undone (compare-and-set inside one transaction, the table locked on
    PostgreSQL so two writers cannot both pass the check; on SQLite the steering lease keeps
    SpyAgency to one writer).
    """

    def __init__(self, url: str, now: Callable[[], datetime] = utcnow) -> None:
        self.engine = create_database_engine(url)
        self._now = now

    def close(self) -> None:
        self.engine.dispose()

    def create_table(self) -> None:
        _meta.create_all(self.engine)

    def __call__(self, row: OutboxEntry) -> None:
        tag = f"{OWN_USER_PREFIX}{row.idempotency_key}"
        try:
            self._apply(row, tag)
        except IntegrityError:
            # where the table has a unique username, a concurrent delivery of the same key won the race
            if not self._seen(tag):
                raise

    def _seen(self, tag: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(PROMPTRECO_STATUS.c.username)
                                .where(PROMPTRECO_STATUS.c.username == tag)).first() is not None

    def _apply(self, row: OutboxEntry, tag: str) -> None:
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("LOCK TABLE promptreco_status IN EXCLUSIVE MODE")
            seen = conn.execute(select(PROMPTRECO_STATUS.c.username).where(PROMPTRECO_STATUS.c.username == tag))
            if seen.first() is not None:
                return  # a resend after a crash: already applied
            latest = conn.execute(select(PROMPTRECO_STATUS.c.status, PROMPTRECO_STATUS.c.username,
                                         PROMPTRECO_STATUS.c.change_time)
                                  .order_by(PROMPTRECO_STATUS.c.change_time.desc()).limit(1)).first()
            if latest is not None and latest.username == tag:
                return  # a concurrent delivery of this very action committed between the two reads
            if row.action != PAUSE and latest is not None and not (
                    latest.status == 0 and latest.username.startswith(OWN_USER_PREFIX)):
                raise SwitchTakenOver(
                    f"not resuming: the switch was last set to {latest.status} by {latest.username} at "
                    f"{latest.change_time:%Y-%m-%d %H:%M} UTC, after SpyAgency's pause", enabled=bool(latest.status))
            conn.execute(insert(PROMPTRECO_STATUS).values(
                status=0 if row.action == PAUSE else 1,
                change_time=self._now().astimezone(UTC).replace(tzinfo=None), username=tag))

    def current(self) -> bool | None:
        with self.engine.connect() as conn:
            latest = conn.execute(select(PROMPTRECO_STATUS.c.status)
                                  .order_by(PROMPTRECO_STATUS.c.change_time.desc()).limit(1)).first()
        return None if latest is None else bool(latest[0])
