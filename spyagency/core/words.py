"""How reasons name moments and durations: one spelling everywhere a person reads them."""

from __future__ import annotations

from datetime import datetime


def utc_minute(moment: datetime | None) -> str:
    """``2026-11-22 03:30 UTC``, or ``never``."""
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment is not None else "never"
