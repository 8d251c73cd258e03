"""The benchmark world: 200 active runs served by the simulator, on top of a decade of history."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from simulator.httpserver import Door
from simulator.scenario import SimRun, all_streams
from simulator.simulator import Simulator
from spyagency.clock import ManualClock
from spyagency.policy import Policy, load_policy
from spyagency.settings import Settings
from spyagency.store import Store

from .history import HistoryCounts, HistoryShape, fill

ACTIVE_FIRST_RUN = 390_000
ACTIVE_RUNS = 200
#: Active runs: one every 12 minutes over the 40 h before "now", so none has locked yet.
ACTIVE_SPACING = timedelta(minutes=12)


def active_runs(policy: Policy, now: datetime, count: int = ACTIVE_RUNS) -> list[SimRun]:
    """The runs SpyAgency watches in the benchmark: recent, stopped or running, none locked yet."""
    streams = all_streams(policy)
    first_start = now - count * ACTIVE_SPACING
    return [SimRun(ACTIVE_FIRST_RUN + i, first_start + i * ACTIVE_SPACING,
                   first_start + i * ACTIVE_SPACING + timedelta(minutes=10), streams, lumis=26,
                   iovs_per_lumi_upload=5) for i in range(count)]


@dataclass
class Scene:
    """A simulator, a store with history, settings pointing at both, and the manual clock."""

    sim: Simulator
    store: Store
    settings: Settings
    clock: ManualClock
    counts: HistoryCounts
    build_s: float
    workdir: Path

    def close(self) -> None:
        self.sim.stop()
        self.store.dispose()


def build(history_runs: int, now: datetime, policy: Policy | None = None, db_url: str | None = None,
          door: Door | None = None, **settings: Any) -> Scene:
    """Simulator with the active runs applied up to ``now``; CondDB and store filled with history (``door``:
    Tier0 and DQM behind a grid door; ``settings``: more settings, such as the grid identity to show it)."""
    policy = policy or load_policy()
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="spyagency-bench-"))
    runs = active_runs(policy, now)
    sim = Simulator(policy, runs, workdir / "sim", now, door=door)
    store = Store(db_url or f"sqlite:///{workdir / 'store.db'}")
    store.migrate()
    # history ends well before the look-back window, as in production after years of running
    shape = HistoryShape(runs=history_runs, first_run=ACTIVE_FIRST_RUN - history_runs,
                         end=runs[0].start - timedelta(days=7))
    counts = fill(sim.conddb_url, store, policy, shape)
    sim.advance(now)
    settings = Settings(db_url=store.url, tier0_url=sim.tier0_url, dqm_url=sim.dqm_url, conddb_url=sim.conddb_url,
                        lookback_hours=96, http_retries=0, **settings)
    return Scene(sim, store, settings, ManualClock(now), counts, time.perf_counter() - started, workdir)
