"""Telling the operators, ahead of time, that the grid certificate SpyAgency shows the doors expires.

A proxy expiring means its renewal cron is late; the certificate behind it expiring means a new one must be
requested and registered in CRIC, which takes days. Each is said once per expiry (the idempotency key names
the DN and the moment), through the operators' own channel, not the AlCa experts': the outbox delivers it
exactly once, like every other message.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from spyagency.core.certificate import ExpiryWarning, certificate_note
from spyagency.core.models import OPERATOR_ACTIONS, OutboxAction, OutboxEntry, Source
from spyagency.passes.outbox import Send, deliver_pending
from spyagency.store import Store
from spyagency.store import outbox as entries
from spyagency.store.queries import source_statuses

CERTIFICATE = OutboxAction.CERTIFICATE.value


def plan_certificate_warnings(store: Store, now: datetime, warn: ExpiryWarning) -> int:
    """One message per certificate (or proxy) expiry the operators should hear of; return how many were planned.
    ``now`` is the real time: the doors check certificates by it, whatever clock SpyAgency runs on."""
    planned = 0
    with store.session() as session:
        seen: set[str] = set()
        for status in source_statuses(session):
            shown = status.certificate
            if shown is None:
                continue
            note, attention = certificate_note(shown, now, warn)
            if not attention:
                continue
            expiring = shown.not_after if shown.proxy and shown.not_after - now <= warn.proxy else \
                (shown.certificate_not_after or shown.not_after)
            key = "certificate-" + hashlib.sha256(f"{shown.dn}|{expiring.isoformat()}".encode()).hexdigest()[:24]
            if key in seen or entries.entry_exists(session, key):
                continue
            seen.add(key)
            label = {Source.TIER0.value: "Tier0 Data Service", Source.DQM.value: "DQM GUI"}.get(status.source,
                                                                                                 status.source)
            entries.add_entry(session, key=key, action=CERTIFICATE, run=None, now=now,
                              reason=f"{note} (shown to the {label}, {shown.origin})",
                              detail={"dn": shown.dn, "expires": expiring.isoformat()})
            planned += 1
    return planned


def pending_operator_messages(store: Store) -> list[OutboxEntry]:
    with store.session() as session:
        return entries.pending_entries(session, OPERATOR_ACTIONS)


def deliver_operator_messages(store: Store, send: Send, now: datetime) -> int:
    """Hand pending operator messages to ``send`` in order; stop at the first failure (retried next time)."""
    return deliver_pending(store, pending_operator_messages(store), send, now)
