"""Dashboard login sessions: an opaque cookie that expires and can be ended, never the token itself.

Only a hash of the cookie is stored, so a copy of the store does not log anyone in. Each session
carries its own CSRF token for the dashboard's forms.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from spyagency.store.database import Store
from spyagency.store.tables import DashboardSessionRow


@dataclass(frozen=True)
class DashboardSession:
    """Who a live session belongs to, and the CSRF token of its forms."""

    user: str
    roles: frozenset[str]
    csrf: str
    expires_at: datetime
    token_tag: str | None = None  # the keyed hash of the token it was opened with (None: opened before 0013)


def _key(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


def start_session(store: Store, user: str, roles: frozenset[str], now: datetime, ttl: timedelta,
                  token_tag: str) -> str:
    """Open a session for ``user``, bound to the token whose keyed hash is ``token_tag``; return the cookie
    value (shown once, stored only as a hash)."""
    cookie = secrets.token_urlsafe(32)
    with store.session() as session:
        session.add(DashboardSessionRow(key=_key(cookie), user=user, roles=sorted(roles),
                                        csrf=secrets.token_hex(32), created_at=now, expires_at=now + ttl,
                                        token_tag=token_tag))
    return cookie


def find_session(store: Store, cookie: str | None, now: datetime) -> DashboardSession | None:
    """The live session of ``cookie``, or None (unknown, expired or ended)."""
    if not cookie or len(cookie) > 200:
        return None
    with store.session() as session:
        row = session.get(DashboardSessionRow, _key(cookie))
        if row is None or row.ended_at is not None or now >= row.expires_at:
            return None
        return DashboardSession(row.user, frozenset(row.roles), row.csrf, row.expires_at, row.token_tag)


def end_session(store: Store, cookie: str | None, now: datetime) -> None:
    """End the session of ``cookie`` (logout): the cookie no longer logs anyone in."""
    if not cookie:
        return
    with store.session() as session:
        row = session.get(DashboardSessionRow, _key(cookie))
        if row is not None and row.ended_at is None:
            row.ended_at = now
