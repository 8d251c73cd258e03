"""The grid certificate a source is shown, as the poller recorded it, and what an operator should know of it.

The poller reads the certificate locally and stores what it says (never the key, never the file); the
console, ``/readyz`` and ``spyagency status`` read that record, so the API process never holds a certificate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from spyagency.core.words import utc_minute


@dataclass(frozen=True)
class ShownCertificate:
    """The certificate shown to a source: its end-entity DN, expiry, and where it was found."""

    dn: str
    not_after: datetime
    proxy: bool
    file: str
    origin: str
    certificate_not_after: datetime | None = None  # a proxy's: when the certificate behind it expires

    @classmethod
    def from_record(cls, record: Mapping[str, Any] | None) -> ShownCertificate | None:
        """The stored record (``Credential.as_record``), or None when none was stored or it is unreadable."""
        if not record:
            return None
        try:
            not_after = datetime.fromisoformat(str(record["not_after"]))
            behind = record.get("certificate_not_after")
            return cls(str(record["dn"]), not_after, bool(record.get("proxy")), str(record.get("file", "")),
                       str(record.get("origin", "")), datetime.fromisoformat(str(behind)) if behind else None)
        except (KeyError, ValueError, TypeError):
            return None


def _left(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{max(hours, 0):.0f} h"


@dataclass(frozen=True)
class ExpiryWarning:
    """How long before expiry operators are told: a certificate (a year's life) well ahead; a proxy (hours to
    days, renewed by a cron) only when its renewal is evidently late."""

    certificate: timedelta = timedelta(days=7)
    proxy: timedelta = timedelta(hours=3)


def certificate_note(certificate: ShownCertificate, now: datetime,
                     warn: ExpiryWarning = ExpiryWarning()) -> tuple[str, bool]:
    """One line on ``certificate`` for operators, and whether it needs them: expired, a proxy not renewed
    in time, or the certificate itself (behind a proxy, or alone) expiring within the warning."""
    kind = "proxy of " if certificate.proxy else ""
    left = certificate.not_after - now
    if left <= timedelta(0):
        return (f"grid {'proxy' if certificate.proxy else 'certificate'} ({certificate.dn}) EXPIRED "
                f"{utc_minute(certificate.not_after)}: renew {certificate.file}", True)
    if certificate.proxy and left <= warn.proxy:
        return (f"grid proxy ({certificate.dn}) expires in {_left(left)}, {utc_minute(certificate.not_after)}, "
                f"and was not renewed: check the renewal of {certificate.file}", True)
    behind = certificate.certificate_not_after if certificate.proxy else certificate.not_after
    if behind is not None and behind - now <= warn.certificate:
        return (f"grid certificate ({certificate.dn}) expires in {_left(behind - now)}, {utc_minute(behind)}: "
                f"request a new one (CERN CA) and register it in CRIC", True)
    until = f"certificate valid until {utc_minute(behind)}" if behind is not None else ""
    proxy = f"proxy valid until {utc_minute(certificate.not_after)}" if certificate.proxy else ""
    return f"as {kind}{certificate.dn}, {', '.join(part for part in (proxy, until) if part)}", False
