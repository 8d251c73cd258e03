"""Benchmark 7: backtest of the landing forecast on a simulated season with latency spread and backlogs.

Runs stop every 0.5-3 h. Each run's express is done after a log-normal lag (about 3 h), plus Tier0
backlogs: now and then a backlog starts and delays the express of a stretch of consecutive runs by
8-30 h. Each workflow's calibration lands a harvest (about 1 h) after the express. A few never land.
Walking the season hour by hour, every pending calibration is forecast from what had happened by then
(nothing from the future), by SpyAgency's two stages (stop → express done → upload) and, as the
baseline in the same run, by one stage (stop → upload). Printed for both:

- median absolute error of the forecast landing time, and the share of landings inside the 90 % band
  (and how many bands were open upward, "beyond the history");
- at-risk warnings (forecast after the PCL give-up or the lock) against the fixed rule "warn 6 h before
  the lock if still missing", computed in the same run: how many hours earlier, and their precision.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from spyagency.core.forecast import Forecast, forecast, forecast_staged
from spyagency.policy import load_policy

H = timedelta(hours=1)
START = datetime(2026, 5, 1)
WINDOW = 30  # recent landed calibrations per workflow the forecast learns from


@dataclass(frozen=True)
class Calibration:
    run: int
    workflow: str
    stop: datetime
    express_done: datetime  # when Tier0 finished the run's express stream
    landing: datetime | None  # None: never lands


def season(workflows: list[str], runs: int, seed: int) -> list[Calibration]:
    """Stops, latencies and backlogs of a season."""
    rng = random.Random(seed)
    calibrations = []
    stop = START
    backlog_left, backlog_hours = 0, 0.0
    for i in range(runs):
        stop += timedelta(hours=rng.uniform(0.5, 3.0))
        if backlog_left == 0 and rng.random() < 0.01:
            backlog_left, backlog_hours = rng.randint(3, 12), rng.uniform(8.0, 30.0)
        extra = backlog_hours if backlog_left else 0.0
        backlog_left = max(0, backlog_left - 1)
        express_done = stop + timedelta(hours=rng.lognormvariate(math.log(3.0), 0.3) + extra)
        for workflow in workflows:
            harvest = rng.lognormvariate(math.log(1.0), 0.4)
            landing = None if rng.random() < 0.01 else express_done + timedelta(hours=harvest)
            calibrations.append(Calibration(380000 + i, workflow, stop, express_done, landing))
    return calibrations


def _waited(since: datetime, until: datetime | None, now: datetime) -> tuple[timedelta, bool]:
    """What the store knows at ``now`` of a wait from ``since``: its length once over (``until`` has
    passed), else that it has lasted at least until now."""
    if until is not None and until <= now:
        return until - since, True
    return now - since, False


@dataclass
class Score:
    """How one forecaster did over the season."""

    errors: list[float] = field(default_factory=list)
    inside: int = 0
    total_band: int = 0
    open_band: int = 0
    warned_at: dict[tuple[int, str], datetime] = field(default_factory=dict)

    def add(self, c: Calibration, guess: Forecast, now: datetime) -> None:
        if guess.at_risk and (c.run, c.workflow) not in self.warned_at:
            self.warned_at[(c.run, c.workflow)] = now
        if guess.landing is not None and c.landing is not None:
            self.errors.append(abs((guess.landing - c.landing) / H))
            self.total_band += 1
            self.open_band += guess.high is None
            # a band open upward ("beyond the history") holds every landing after its low end
            self.inside += guess.low is not None and guess.low <= c.landing and (
                guess.high is None or c.landing <= guess.high)


def run(runs: int = 1000, seed: int = 1) -> None:
    policy = load_policy()
    deadlines = policy.deadlines
    give_up, lock = deadlines.pcl_give_up, deadlines.reco_delay - deadlines.lock_offset
    fixed_warn = lock - deadlines.notify_before_lock
    workflows = [wf.name for wf in policy.workflows]
    calibrations = season(workflows, runs, seed)
    started = time.perf_counter()
    by_workflow: dict[str, list[Calibration]] = {w: [] for w in workflows}
    staged, single = Score(), Score()
    now = min(c.stop for c in calibrations)
    end = max(c.stop for c in calibrations) + lock
    pending = sorted(calibrations, key=lambda c: c.stop)
    for c in pending:
        by_workflow[c.workflow].append(c)
    while now <= end:
        for c in pending:
            if c.stop > now:
                break
            if (c.landing is not None and c.landing <= now) or now > c.stop + lock:
                continue
            earlier = [x for x in by_workflow[c.workflow] if x.stop < c.stop]
            recent = [_waited(x.stop, x.landing, now) for x in earlier[-WINDOW:]]
            express = [_waited(x.stop, x.express_done, now) for x in earlier[-WINDOW:]]
            harvest = [_waited(x.express_done, x.landing, now) for x in earlier if x.express_done <= now][-WINDOW:]
            express_done = c.express_done if c.express_done <= now else None
            staged.add(c, forecast_staged(c.run, c.workflow, c.stop, now, express_done, express, harvest, recent,
                                          give_up, lock), now)
            single.add(c, forecast(c.run, c.workflow, c.stop, now, recent, give_up, lock), now)
        pending = [c for c in pending if not ((c.landing is not None and c.landing <= now) or now > c.stop + lock)]
        now += H
    elapsed = time.perf_counter() - started

    missed = {(c.run, c.workflow) for c in calibrations if c.landing is None or c.landing > c.stop + give_up}
    fixed = {(c.run, c.workflow): c.stop + fixed_warn for c in calibrations
             if c.landing is None or c.landing > c.stop + fixed_warn}
    print(f"== 7. forecast backtest: {runs} runs x {len(workflows)} workflows, hourly forecasts, {elapsed:.1f} s")
    print(f"   calibrations that missed the PCL give-up: {len(missed)} of {len(calibrations)}")
    for name, score in (("stop → express done → upload (SpyAgency)", staged),
                        ("stop → upload, one stage (baseline)", single)):
        _print(name, score, missed, fixed)
    fixed_precision = len([k for k in fixed if k in missed]) / len(fixed) if fixed else float("nan")
    fixed_recall = len([k for k in fixed if k in missed]) / len(missed) if missed else float("nan")
    print(f"   fixed rule (6 h before lock): {len(fixed)} warnings, precision {fixed_precision:.3f}, "
          f"recall {fixed_recall:.3f}")
    print(f"   two stages against one: median error {statistics.median(staged.errors):.2f} h against "
          f"{statistics.median(single.errors):.2f} h (ratio "
          f"{statistics.median(staged.errors) / statistics.median(single.errors):.2f})")


def _print(name: str, score: Score, missed: set[tuple[int, str]], fixed: dict[tuple[int, str], datetime]) -> None:
    true_warnings = [key for key in score.warned_at if key in missed]
    precision = len(true_warnings) / len(score.warned_at) if score.warned_at else float("nan")
    recall = len(true_warnings) / len(missed) if missed else float("nan")
    earlier = [(fixed[key] - score.warned_at[key]) / H for key in true_warnings if key in fixed]
    print(f"   {name}:")
    print(f"      landing time: median absolute error {statistics.median(score.errors):.2f} h over "
          f"{len(score.errors)} forecasts; {score.inside / score.total_band:.1%} of landings inside the 90 % band "
          f"({score.open_band / score.total_band:.0%} of bands open upward: pending runs had outlasted the "
          f"comparable landings)")
    print(f"      at-risk warnings: {len(score.warned_at)}, precision {precision:.3f}, recall {recall:.3f}")
    if earlier:
        print(f"      where the fixed rule also warns, this warns {statistics.median(earlier):.1f} h earlier "
              f"(median; min {min(earlier):.1f} h, max {max(earlier):.1f} h, {len(earlier)} cases)")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.forecast", description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    run(args.runs, args.seed)


if __name__ == "__main__":
    main()
