"""Delivering steering actions to Tier0: an HTTP control endpoint or a row in ``promptreco_status``."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, create_engine, insert, select

from .sources.errors import Tier0ProtocolError, Tier0Unavailable
from .sources.http import JsonHttp
from .steering import PAUSE
from .store.tables import OutboxRow

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

    def __call__(self, row: OutboxRow) -> None:
        self.http.post(self.path, {"enabled": row.action != PAUSE, "reason": row.reason},
                       headers={"Idempotency-Key": row.idempotency_key})


class SqlControl:
    """Inserts a ``promptreco_status`` row; the idempotency key rides in ``username`` so a resend is a no-op."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)

    def create_table(self) -> None:
        _meta.create_all(self.engine)

    def __call__(self, row: OutboxRow) -> None:
        tag = f"spyagency:{row.idempotency_key}"
        with self.engine.begin() as conn:
            seen = conn.execute(select(PROMPTRECO_STATUS.c.username).where(PROMPTRECO_STATUS.c.username == tag))
            if seen.first() is None:
                conn.execute(insert(PROMPTRECO_STATUS).values(
                    status=0 if row.action == PAUSE else 1,
                    change_time=datetime.now(timezone.utc).replace(tzinfo=None), username=tag))

    def current(self) -> bool | None:
        with self.engine.connect() as conn:
            latest = conn.execute(select(PROMPTRECO_STATUS.c.status)
                                  .order_by(PROMPTRECO_STATUS.c.change_time.desc()).limit(1)).first()
        return None if latest is None else bool(latest[0])
