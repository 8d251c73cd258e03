"""Clocks: the wall clock in production, a fast or manual one in demos and tests.

Only the doors read a clock; the decision takes ``now`` as an argument.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    #: a demo or test clock, not the wall clock (the console says so)
    simulated: bool

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC."""

    simulated = False

    def now(self) -> datetime:
        return datetime.now(UTC)


class ScaledClock:
    """A clock that runs ``speed`` times faster than the wall clock from ``start``."""

    simulated = True

    def __init__(self, start: datetime, speed: float) -> None:
        self.start = start
        self.speed = speed
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)


class ManualClock:
    """A clock moved by hand (tests)."""

    simulated = True

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> datetime:
        self.current += delta
        return self.current


def utcnow() -> datetime:
    """The wall clock now, in UTC."""
    return datetime.now(UTC)
