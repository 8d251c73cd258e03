"""Leases: one process at a time runs a reconcile step against a store.

Two reconcilers on one store (the embedded loop and Airflow, or two replicas) would
otherwise both plan a pause, or save verdicts over each other. A lease row per step
names its holder until it expires; taking it is one conditional UPDATE (or the first
INSERT), which both SQLite and PostgreSQL serialize. A holder that dies frees the step
when its lease expires. A living holder renews its lease while the step runs, so that a step slowed
past the lease's life (a stalled source) is never overlapped by another replica's.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from spyagency.errors import LeaseHeld
from spyagency.store.database import Store
from spyagency.store.tables import LeaseRow

log = logging.getLogger(__name__)
#: Longer than a step takes; a dead holder blocks the step at most this long (a living one renews it).
DEFAULT_TTL = timedelta(minutes=5)


def new_holder_id() -> str:
    """A name for this process that no other process, here or elsewhere, will share."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _dead_here(holder: str) -> bool:
    """Whether ``holder`` is a process of this host that no longer runs (it was killed)."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def acquire(store: Store, name: str, holder: str, now: datetime, ttl: timedelta = DEFAULT_TTL) -> bool:
    """Take (or renew) the lease ``name`` for ``holder``; False if someone else holds it.

    A lease expires after ``ttl``; one held by a process of this host that has died is free at once.
    """
    with store.engine.begin() as conn:
        taken = conn.execute(update(LeaseRow).where(
            LeaseRow.name == name, or_(LeaseRow.holder == holder, LeaseRow.expires_at < now))
            .values(holder=holder, expires_at=now + ttl))
        if taken.rowcount == 1:
            return True
        current = conn.execute(select(LeaseRow.holder).where(LeaseRow.name == name)).scalar()
        if current is not None and _dead_here(current):
            stolen = conn.execute(update(LeaseRow).where(LeaseRow.name == name, LeaseRow.holder == current)
                                  .values(holder=holder, expires_at=now + ttl))
            if stolen.rowcount == 1:
                return True
        if current is not None:
            return False
    try:
        with store.engine.begin() as conn:
            conn.execute(insert(LeaseRow).values(name=name, holder=holder, expires_at=now + ttl))
        return True
    except IntegrityError:
        return False


def release(store: Store, name: str, holder: str) -> None:
    """Give the lease back at once (only if ``holder`` still has it)."""
    with store.engine.begin() as conn:
        conn.execute(update(LeaseRow).where(LeaseRow.name == name, LeaseRow.holder == holder)
                     .values(expires_at=datetime(1970, 1, 1, tzinfo=UTC)))


def holder_of(store: Store, name: str) -> str | None:
    """Who holds ``name`` (expired or not), for messages."""
    with store.session() as session:
        row = session.get(LeaseRow, name)
        return row.holder if row else None


@contextmanager
def lease(store: Store, name: str, holder: str, now: datetime, ttl: timedelta = DEFAULT_TTL) -> Iterator[None]:
    """Hold ``name`` for the body, renewed every third of ``ttl`` while it runs; raise ``LeaseHeld`` if another
    process has it. Renewals are stamped ``now`` plus the wall time since, so simulated clocks work too."""
    if not acquire(store, name, holder, now, ttl):
        raise LeaseHeld(f"step {name!r} is being run by {holder_of(store, name)}; skipped")
    done = threading.Event()
    started = time.monotonic()

    def renew() -> None:
        while not done.wait(ttl.total_seconds() / 3):
            try:
                if not acquire(store, name, holder, now + timedelta(seconds=time.monotonic() - started), ttl):
                    log.error("lease %s was taken over while %s ran it", name, holder)  # pragma: no mutate
                    return
            except Exception:
                log.exception("renewing lease %s failed", name)  # pragma: no mutate

    renewer = threading.Thread(target=renew, name=f"lease-{name}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        done.set()
        renewer.join()
        release(store, name, holder)
