"""The answer Tier0 gets when it asks whether a run may be released."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from spyagency.core.models import RunSummary


@dataclass(frozen=True)
class ReleaseAnswer:
    run: int
    release: bool
    state: str
    reasons: tuple[str, ...]
    deadline: datetime | None
    decided_at: datetime | None


#: How far ahead of the server's clock a decision may be stamped (clocks of different hosts).
FUTURE_TOLERANCE = timedelta(minutes=2)


def release_answer(summary: RunSummary, now: datetime, max_age: timedelta) -> ReleaseAnswer:
    """The stored verdict, unless it is too old (or from the future) to stand on: then not released, and why.

    A decision stamped in the future would look fresh forever if a poller's clock ran ahead and then
    the poller died; beyond a small tolerance it counts as stale. The age the database measures on its
    own clock (since the verdict was saved) must be within ``max_age`` too: no skewed host can fake it.
    """
    reasons = summary.reasons
    release = summary.release
    if summary.decided_at is None or now - summary.decided_at > max_age:
        when = summary.decided_at.isoformat() if summary.decided_at else "never"
        reasons = (f"decision is stale (made {when}): SpyAgency's poller is not running", *reasons)
        release = False
    elif summary.saved_age_s is not None and summary.saved_age_s > max_age.total_seconds():
        minutes = summary.saved_age_s / 60
        reasons = (f"decision is stale: saved {minutes:.0f} min ago by the store's own clock, whatever the "
                   f"hosts' clocks say: SpyAgency's poller is not running", *reasons)
        release = False
    elif summary.decided_at > now + FUTURE_TOLERANCE:
        reasons = (f"decision is stamped in the future ({summary.decided_at.isoformat()}): a clock is wrong, "
                   f"so its freshness cannot be trusted", *reasons)
        release = False
    return ReleaseAnswer(summary.run, release, summary.state, tuple(reasons), summary.lock_time,
                         summary.decided_at)
