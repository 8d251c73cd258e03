"""When a run leaves SpyAgency's watch: its verdict is final and it is never decided again. A pure rule."""

from __future__ import annotations

from spyagency.core.models import RunState, RunVerdict
from spyagency.policy import Policy


def is_final(verdict: RunVerdict, first_conditions_safe_run: int | None, policy: Policy) -> bool:
    """Whether ``verdict`` closes its run: Tier0 has locked it (it lies below the first conditions-safe
    run) and it was released, or ``late_watch`` has passed since its lock.

    An overdue run stays watched that long because its late payloads arrive after the lock.
    """
    locked = first_conditions_safe_run is not None and verdict.run < first_conditions_safe_run
    settled = verdict.state is RunState.RELEASED or (
        verdict.lock_time is not None and verdict.decided_at >= verdict.lock_time + policy.deadlines.late_watch)
    return locked and settled
