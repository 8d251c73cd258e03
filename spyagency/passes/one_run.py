"""One run's decision, kept to that run: a run whose data makes the decision raise is not ready and says
why, with its lock time kept so that steering still sees it coming, and every other run is decided as ever."""

from __future__ import annotations

import logging
from datetime import datetime

from spyagency.core.models import RunObservations, RunVerdict, Source, SourceHealth, Tier0Global
from spyagency.core.readiness import decide_run, undecidable_run
from spyagency.policy import Policy

log = logging.getLogger(__name__)

#: How much of the error's own words a verdict's reason quotes.
ERROR_WORDS = 200


def decide_one(observations: RunObservations, policy: Policy, tier0: Tier0Global,
               health: dict[Source, SourceHealth], now: datetime) -> RunVerdict:
    """The verdict of one run; never raises for a fault in that run's data."""
    try:
        return decide_run(observations, policy, tier0, health, now)
    except Exception as exc:
        log.exception("deciding run %s failed", observations.info.run)  # pragma: no mutate
        return undecidable_run(observations, policy, now, f"{type(exc).__name__}: {str(exc)[:ERROR_WORDS]}")
