"""The answer Tier0 gets when it asks whether a run may be released."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .store.queries import RunSummary


@dataclass(frozen=True)
class ReleaseAnswer:
    run: int
    release: bool
    state: str
    reasons: tuple[str, ...]
    deadline: datetime | None
    decided_at: datetime | None


def release_answer(summary: RunSummary, now: datetime, max_age: timedelta) -> ReleaseAnswer:
    """The stored verdict, unless it is too old to stand on: then not released, and why."""
    reasons = summary.reasons
    release = summary.release
    if summary.decided_at is None or now - summary.decided_at > max_age:
        when = summary.decided_at.isoformat() if summary.decided_at else "never"
        reasons = (f"decision is stale (made {when}): SpyAgency's poller is not running", *reasons)
        release = False
    return ReleaseAnswer(summary.run, release, summary.state, tuple(reasons), summary.lock_time,
                         summary.decided_at)
