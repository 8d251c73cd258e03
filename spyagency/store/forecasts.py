"""Landing forecasts of the pending calibrations of open runs, from the store's own history.

Shared by the console (shown on run pages) and the warnings (an at-risk run is warned once).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from spyagency.core.forecast import Forecast, forecast_staged
from spyagency.core.models import WorkflowState
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


@dataclass(frozen=True)
class _Histories:
    """What the workflow's recent runs say: stop → upload, stop → express done, express done → upload
    (each a (duration, happened) pair; one still awaited is censored at now)."""

    landing: list[tuple[timedelta, bool]]
    express: list[tuple[timedelta, bool]]
    harvest: list[tuple[timedelta, bool]]


def _histories(seen: list[CalibrationSeen], workflow: str, before_run: int, now: datetime) -> _Histories:
    """The recent history of ``workflow`` before ``before_run``, from what the store saw."""
    items = [c for c in seen if c.workflow == workflow and c.run < before_run and c.state not in NEVER_LANDS]
    recent = items[-HISTORY_RUNS:]
    landing = [((c.landed - c.stop) if c.landed else (now - c.stop), c.landed is not None) for c in recent]
    # the express is seen done when the workflow turns harvesting; a calibration that landed without
    # being seen harvesting (waiting to uploaded between two polls) says nothing about either stage
    express = [((c.express_done - c.stop), True) if c.express_done else (now - c.stop, False)
               for c in recent if c.express_done or c.landed is None]
    harvest = [((c.landed - c.express_done) if c.landed else (now - c.express_done), c.landed is not None)
               for c in items if c.express_done][-HISTORY_RUNS:]
    return _Histories(landing, express, harvest)


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
            past = _histories(seen, c.workflow, c.run, now)
            found[c.run].append(forecast_staged(c.run, c.workflow, c.stop, now, c.express_done, past.express,
                                                past.harvest, past.landing, deadlines.pcl_give_up, lock))
    return dict(found)
