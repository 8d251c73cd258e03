"""Poll+decide cycle time with a simulated year of runs in the CondDB.

Prints the first (full) cycle, an incremental cycle with nothing new, and one
after a few new uploads, and their ratio to the idle cycle (the baseline in
this same process). Usage: python benchmarks/poll_cycle.py [RUNS]
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from spyagency.agency import Agency
from spyagency.clock import ManualClock, utcnow
from spyagency.policy import load_policy
from spyagency.settings import Settings
from spyagency.simulator.scenario import generate_runs
from spyagency.simulator.simulator import Simulator
from spyagency.store import Store


def main(count: int) -> None:
    policy = load_policy()
    now = utcnow()
    runs = generate_runs(policy, 380000, now - timedelta(hours=count * 4.5), count, seed=1,
                         gap=timedelta(minutes=5))
    workdir = Path(tempfile.mkdtemp(prefix="spyagency-bench-"))
    clock = ManualClock(now)
    with Simulator(policy, runs, workdir / "sim", now) as sim:
        started = time.perf_counter()
        sim.advance(now)
        print(f"simulated {count} runs ({runs[0].start:%Y-%m-%d} .. {runs[-1].stop:%Y-%m-%d}) "
              f"in {time.perf_counter() - started:.1f} s")
        settings = Settings(db_url=f"sqlite:///{workdir / 'store.db'}", tier0_url=sim.tier0_url,
                            dqm_url=sim.dqm_url, conddb_url=sim.conddb_url, lookback_hours=count * 5)
        Store(settings.db_url).migrate()
        agency = Agency(settings, clock=clock, policy=policy)
        timings = {}
        for label in ("first (full history)", "idle (nothing new)", "after 1 h of new data"):
            if label.startswith("after"):
                clock.advance(timedelta(hours=1))
                sim.advance(clock.now())
            t = time.perf_counter()
            cycle = agency.reconcile_once()
            timings[label] = time.perf_counter() - t
            print(f"{label:<24} {timings[label] * 1000:9.1f} ms  active runs {len(cycle.decision.verdicts)}")
        base = timings["idle (nothing new)"]
        for label, value in timings.items():
            print(f"ratio {label:<24} {value / base:6.2f}x idle")
        agency.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1500)
