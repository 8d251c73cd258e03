"""Delivering outbox rows: in order, each marked sent only after its sender returned.

Steering actions and expert warnings share this. A failure stops the pass (later rows
wait, so order holds) and is written on the row; the next pass retries it. A crash
between sending and bookkeeping means a resend with the same idempotency key.

Each attempt is counted *before* it is made (in its own transaction), so a sender can
tell a first attempt (``attempts == 0``) from a resend after a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from spyagency.core.models import OutboxEntry
from spyagency.errors import SteeringRefused
from spyagency.store import Store
from spyagency.store import outbox as entries

log = logging.getLogger(__name__)

#: Delivers one entry or raises.
Send = Callable[[OutboxEntry], None]


def deliver_pending(store: Store, pending: Sequence[OutboxEntry], send: Send, now: datetime) -> int:
    """Send ``pending`` entries in order; return how many went out before the first failure."""
    delivered = 0
    for entry in pending:
        with store.session() as session:
            entries.count_attempt(session, entry.id)
        try:
            send(entry)  # entry.attempts is the count before this attempt
        except SteeringRefused as exc:  # final: this action must never go out; later ones may
            with store.session() as session:
                entries.mark_cancelled(session, entry.id, now, f"{type(exc).__name__}: {exc}")
            log.warning("cancelled %s: %s", entry.idempotency_key, exc)  # pragma: no mutate
            continue
        except Exception as exc:
            with store.session() as session:
                entries.mark_failed(session, entry.id, f"{type(exc).__name__}: {exc}")
            log.warning("could not deliver %s: %s", entry.idempotency_key, exc)  # pragma: no mutate
            return delivered
        with store.session() as session:
            entries.mark_sent(session, entry.id, now)
        delivered += 1
    return delivered
