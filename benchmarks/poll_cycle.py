"""Benchmark 1: one incremental poll+decide cycle, with 1×, 10× and 100× history under it.

The cost of a cycle must follow the *new* rows (a few uploads of the 200 active runs), not
the total (up to 20,000 runs × 25 tags, millions of IOVs). Baseline: the 1× scene, in this
same process.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

from spyagency.agency import Agency
from spyagency.clock import utcnow
from spyagency.policy import load_policy
from spyagency.store import observations, quality

from .scene import ACTIVE_SPACING, build

BASE_HISTORY_RUNS = 200


@dataclass(frozen=True)
class CycleFigures:
    scale: int
    history_runs: int
    iovs: int
    build_s: float
    first_cycle_s: float
    incremental_s: list[float]
    settle_cycles: int = 0  # cycles that read the quality watch's backlog before the timed ones
    decide_s: list[float] = field(default_factory=list)  # the decide pass of each timed cycle
    polls_s: dict[str, list[float]] = field(default_factory=dict)  # each source's poll, per timed cycle

    @property
    def median_s(self) -> float:
        return statistics.median(self.incremental_s)


def read_quality_backlog(agency: Agency, most: int = 200) -> int:
    """Run cycles at the same instant until the quality watch has read every output it can (a poll reads
    a bounded number of monitor elements): the timed cycles then measure new data, not a backlog."""
    def read() -> int:
        with agency.store.session() as session:
            return len(quality.read_pairs(session, observations.unfinished_run_numbers(session)))

    for cycles in range(most):
        before = read()
        agency.observe_and_decide()
        if read() == before:
            return cycles + 1
    return most


def measure(scale: int, cycles: int = 7) -> CycleFigures:
    """Build the scene at ``scale`` × 200 history runs and time incremental cycles."""
    policy = load_policy()
    now = utcnow().replace(microsecond=0)
    scene = build(BASE_HISTORY_RUNS * scale, now, policy)
    agency = Agency(scene.settings, clock=scene.clock, policy=policy)
    try:
        t = time.perf_counter()
        agency.observe_and_decide()  # the first cycle reads the 96 h look-back: all 200 active runs
        first = time.perf_counter() - t
        settle = read_quality_backlog(agency)
        timings: list[float] = []
        decides: list[float] = []
        polls: dict[str, list[float]] = {}
        for _ in range(cycles):
            # one poll interval of new data: a run's uploads, a run stopping, express streams finishing
            scene.clock.advance(ACTIVE_SPACING)
            scene.sim.advance(scene.clock.now())
            t = time.perf_counter()
            cycle = agency.observe_and_decide()
            timings.append(time.perf_counter() - t)
            decides.append(cycle.decision.duration_s)
            for poll in cycle.polls:
                polls.setdefault(poll.source.value, []).append(poll.duration_s)
            failed = [p.source.value for p in cycle.polls if not p.ok]
            if failed:
                raise RuntimeError(f"poll failed during the benchmark: {failed}")
        return CycleFigures(scale, scene.counts.runs, scene.counts.iovs, scene.build_s, first, timings, settle,
                            decides, polls)
    finally:
        agency.close()
        scene.close()


def run(scales: tuple[int, ...] = (1, 10, 100)) -> list[CycleFigures]:
    """Measure every scale and print the figures with their ratio to the first."""
    print("== 1. poll+decide cycle vs. history size (200 active runs, SQLite store, CondDB file)")
    results = []
    for scale in scales:
        figures = measure(scale)
        results.append(figures)
        print(f"  {scale:>4}x history: {figures.history_runs:>6} runs, {figures.iovs:>9,} IOVs (built in "
              f"{figures.build_s:5.1f} s) | first cycle {figures.first_cycle_s * 1000:7.0f} ms | incremental "
              f"median {figures.median_s * 1000:6.1f} ms (min {min(figures.incremental_s) * 1000:.1f}, "
              f"max {max(figures.incremental_s) * 1000:.1f}; after {figures.settle_cycles} cycles that read "
              f"the quality backlog)")
        parts = ", ".join(f"{source} {statistics.median(seconds) * 1000:.0f}"
                          for source, seconds in figures.polls_s.items())
        print(f"        of which decide {statistics.median(figures.decide_s) * 1000:.0f} ms; polls (ms, with the "
              f"simulator serving them in this process): {parts}")
    base = results[0].median_s
    for figures in results[1:]:
        print(f"  ratio {figures.scale}x/{results[0].scale}x incremental cycle: {figures.median_s / base:.2f} "
              f"(target < 1.5)")
    return results
