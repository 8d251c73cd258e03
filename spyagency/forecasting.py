"""Landing forecasts of the pending calibrations of open runs, from the store's own history.

Shared by the console (shown on run pages) and the warnings (an at-risk run is warned once).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from spyagency.decide.forecast import Forecast, forecast
from spyagency.models import WorkflowState
from spyagency.policy import Policy
from spyagency.store import Session
from spyagency.store.queries import CalibrationSeen, calibrations_seen

#: Recent runs per workflow the forecast learns from.
HISTORY_RUNS = 30
#: States in which a calibration may still land in its run.
PENDING = frozenset({WorkflowState.WAITING_EXPRESS.value, WorkflowState.HARVESTING.value})
#: States in which no calibration lands by design: such runs teach nothing about latency.
NEVER_LANDS = frozenset({WorkflowState.NOT_APPLICABLE.value, WorkflowState.NO_PAYLOAD.value,
                         WorkflowState.VETOED.value})


def _history(seen: list[CalibrationSeen], workflow: str, before_run: int,
             now: datetime) -> list[tuple[timedelta, bool]]:
    """(latency, landed) of the workflow's recent runs before ``before_run``; pending ones censored at now."""
    items = [c for c in seen if c.workflow == workflow and c.run < before_run and c.state not in NEVER_LANDS]
    return [((c.landed - c.stop) if c.landed else (now - c.stop), c.landed is not None)
            for c in items[-HISTORY_RUNS:]]


def forecasts_for(session: Session, policy: Policy, runs: list[int], now: datetime) -> dict[int, list[Forecast]]:
    """Forecasts of every pending calibration of ``runs`` (stopped runs only), by run."""
    if not runs:
        return {}
    tags = {wf.tag: wf.name for wf in policy.workflows}
    seen = calibrations_seen(session, tags, max(runs), HISTORY_RUNS + len(runs) + 5)
    deadlines = policy.deadlines
    lock = deadlines.reco_delay - deadlines.lock_offset
    found: dict[int, list[Forecast]] = defaultdict(list)
    wanted = set(runs)
    for c in seen:
        if c.run in wanted and c.landed is None and c.state in PENDING:
            history = _history(seen, c.workflow, c.run, now)
            found[c.run].append(forecast(c.run, c.workflow, c.stop, now, history, deadlines.pcl_give_up, lock))
    return dict(found)
