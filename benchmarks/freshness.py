"""Benchmark 3: from a payload landing in the CondDB to the release API answering "release".

The embedded loop (`Agency.run_forever`, the `spyagency poll` loop) runs on the wall clock with
a given poll interval; the API is `spyagency serve` in its own process. For each run, the one
missing PCL payload is written into the CondDB at a random moment of the poll cycle, and the
release API is asked every 10 ms until it flips. Target: within one poll interval + 1 s.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx

from simulator.scenario import Outcome, SimRun, all_streams
from simulator.simulator import Simulator
from spyagency.agency import Agency
from spyagency.clock import SystemClock, utcnow
from spyagency.policy import load_policy
from spyagency.settings import Settings
from spyagency.store import Store

from .serving import ApiProcess

WAITING_WORKFLOW = "SiStripGains"


def run(interval_s: float = 2.0, samples: int = 8) -> dict[str, float]:
    """Measure ``samples`` payload → release flips with the loop polling every ``interval_s``."""
    print(f"== 3. freshness: CondDB payload -> release API says release (embedded loop every {interval_s:g} s, "
          f"{samples} runs)")
    policy = load_policy()
    now = utcnow()
    hour = timedelta(hours=1)
    # runs stopped 6 h ago: express done, every PCL payload in but SiStripGains, locks far away
    runs = [SimRun(391000 + i, now - 8 * hour, now - 6 * hour, all_streams(policy),
                   {WAITING_WORKFLOW: Outcome.MISSING}) for i in range(samples)]
    workdir = Path(tempfile.mkdtemp(prefix="spyagency-fresh-"))
    rng = random.Random(3)
    with Simulator(policy, runs, workdir / "sim", now) as sim:
        sim.advance(now)
        settings = Settings(db_url=f"sqlite:///{workdir / 'store.db'}", tier0_url=sim.tier0_url,
                            dqm_url=sim.dqm_url, conddb_url=sim.conddb_url, steer_mode="dry-run")
        Store(settings.db_url).migrate()
        agency = Agency(settings, clock=SystemClock(), policy=policy)
        stop = threading.Event()
        loop = threading.Thread(target=agency.run_forever, args=(stop, interval_s), daemon=True)
        loop.start()
        api = ApiProcess(settings)
        delays: list[float] = []
        try:
            with httpx.Client(base_url=api.url) as client:
                for sim_run in runs:
                    url = f"/api/v1/runs/{sim_run.run}/release"
                    while client.get(url).status_code != 200:  # wait until the loop has decided the run
                        time.sleep(0.05)
                    assert client.get(url).json()["release"] is False
                    time.sleep(rng.uniform(0, interval_s))  # land anywhere in the poll cycle
                    landed = time.perf_counter()
                    sim.world.upload(sim_run.run, WAITING_WORKFLOW, utcnow())
                    while not client.get(url).json()["release"]:
                        if time.perf_counter() - landed > 10 * interval_s + 10:
                            raise RuntimeError(f"run {sim_run.run} never flipped to release")
                        time.sleep(0.01)
                    delays.append(time.perf_counter() - landed)
        finally:
            api.stop()
            stop.set()
            loop.join(timeout=30)
            agency.close()
    figures = {"median_s": statistics.median(delays), "max_s": max(delays), "target_s": interval_s + 1}
    print(f"  payload -> release: median {figures['median_s']:.2f} s, max {figures['max_s']:.2f} s "
          f"(target <= {figures['target_s']:.1f} s); all: " + ", ".join(f"{d:.2f}" for d in delays))
    return figures
