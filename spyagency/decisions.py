"""Decide: turn stored observations into verdicts for every active run, and record them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .models import RunVerdict, Source
from .policy import Policy
from .readiness import decide_run
from .store import Store
from .store import observations as obs
from .store.tables import SourceStatusRow
from .store.verdicts import save_verdicts


@dataclass(frozen=True)
class DecideResult:
    """What one decision pass did."""

    verdicts: tuple[RunVerdict, ...]
    changed: tuple[RunVerdict, ...]
    duration_s: float


def decide_all(store: Store, policy: Policy, now: datetime, only: Sequence[int] | None = None) -> DecideResult:
    """Decide every active run (or the active ones of ``only``) at ``now``; record verdicts and history."""
    started = time.perf_counter()
    with store.session() as session:
        runs = obs.active_runs(session)
        if only is not None:
            runs = [r for r in runs if r in set(only)]
        status = session.get(SourceStatusRow, Source.CONDDB.value)
        missing = frozenset(status.missing_tags or []) if status else frozenset()
        observations = obs.load_observations(session, runs, missing)
        tier0 = obs.tier0_global(session)
        health = obs.health(session)
        verdicts = tuple(decide_run(observations[r], policy, tier0, health, now) for r in runs)
        changed = tuple(save_verdicts(session, verdicts, tier0.first_conditions_safe_run))
    return DecideResult(verdicts, changed, time.perf_counter() - started)
