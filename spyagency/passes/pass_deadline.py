"""The time one poll of one source may take, every request included: a deadline per request bounds one
call, this bounds the pass, so that many slow answers cannot hold a poll (and the data it brings) for long.
Work the deadline cut off is not asked; the pass then counts as the source's failure, recorded as such."""

from __future__ import annotations

import time
from collections.abc import Sequence

from spyagency.sources.errors import SourceDown, SourceUnavailable


class NotAsked(SourceUnavailable):
    """A call the pass's deadline left no time for (its message names the source itself)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.args = (message,)


class PassDeadline:
    """When a source's pass must end (None: no deadline)."""

    def __init__(self, label: str, seconds: float | None) -> None:
        self.label, self.seconds = label, seconds
        self._ends = None if seconds is None else time.monotonic() + seconds

    def passed(self) -> bool:
        return self._ends is not None and time.monotonic() >= self._ends

    def not_asked(self) -> NotAsked:
        return NotAsked(f"not asked: the {self.label} pass ran past its {self.seconds:g} s deadline")

    def failure(self, results: Sequence[object], what: str) -> SourceDown | None:
        """The source's failure if the deadline cut any of ``results`` off, else None."""
        cut = sum(isinstance(r, NotAsked) for r in results)
        if not cut:
            return None
        return SourceDown(f"{self.label}: the pass ran past its {self.seconds:g} s deadline; {cut} of "
                          f"{len(results)} {what} not asked (asked again next poll)")
