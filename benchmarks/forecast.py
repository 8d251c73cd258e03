"""Benchmark 7: backtest of the landing forecast on a simulated season with latency spread and backlogs.

Runs stop every 0.5-3 h. Each workflow's calibration lands after the express lag and the harvest
(log-normal, about 3 h + 1 h), plus Tier0 backlogs: now and then a backlog starts and delays a
stretch of consecutive runs by 8-30 h. A few calibrations never land. Walking the season hour by
hour, every pending calibration is forecast from the latencies of the calibrations that had landed
by then (nothing from the future). Printed:

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
from dataclasses import dataclass
from datetime import datetime, timedelta

from spyagency.decide.forecast import forecast
from spyagency.policy import load_policy

H = timedelta(hours=1)
START = datetime(2026, 5, 1)
WINDOW = 30  # recent landed calibrations per workflow the forecast learns from


@dataclass(frozen=True)
class Calibration:
    run: int
    workflow: str
    stop: datetime
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
        express = rng.lognormvariate(math.log(3.0), 0.3)
        for workflow in workflows:
            harvest = rng.lognormvariate(math.log(1.0), 0.4)
            landing = None if rng.random() < 0.01 else stop + timedelta(hours=express + harvest + extra)
            calibrations.append(Calibration(380000 + i, workflow, stop, landing))
    return calibrations


def _seen(c: Calibration, now: datetime) -> tuple[timedelta, bool]:
    """What the store knows of an earlier calibration at ``now``: its latency, or that it is still pending."""
    if c.landing is not None and c.landing <= now:
        return c.landing - c.stop, True
    return now - c.stop, False


def run(runs: int = 1000, seed: int = 1) -> None:
    policy = load_policy()
    deadlines = policy.deadlines
    give_up, lock = deadlines.pcl_give_up, deadlines.reco_delay - deadlines.lock_offset
    fixed_warn = lock - deadlines.notify_before_lock
    workflows = [wf.name for wf in policy.workflows]
    calibrations = season(workflows, runs, seed)
    started = time.perf_counter()
    by_workflow: dict[str, list[Calibration]] = {w: [] for w in workflows}
    errors: list[float] = []
    inside = total_band = open_band = 0
    warned_at: dict[tuple[int, str], datetime] = {}
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
            recent = [_seen(x, now) for x in by_workflow[c.workflow] if x.stop < c.stop][-WINDOW:]
            guess = forecast(c.run, c.workflow, c.stop, now, recent, give_up, lock)
            if guess.at_risk and (c.run, c.workflow) not in warned_at:
                warned_at[(c.run, c.workflow)] = now
            if guess.landing is not None and c.landing is not None:
                errors.append(abs((guess.landing - c.landing) / H))
                total_band += 1
                open_band += guess.high is None
                # a band open upward ("beyond the history") holds every landing after its low end
                inside += guess.low is not None and guess.low <= c.landing and (
                    guess.high is None or c.landing <= guess.high)
        pending = [c for c in pending if not ((c.landing is not None and c.landing <= now) or now > c.stop + lock)]
        now += H
    elapsed = time.perf_counter() - started

    missed = {(c.run, c.workflow) for c in calibrations if c.landing is None or c.landing > c.stop + give_up}
    fixed = {(c.run, c.workflow): c.stop + fixed_warn for c in calibrations
             if c.landing is None or c.landing > c.stop + fixed_warn}
    true_warnings = [key for key in warned_at if key in missed]
    precision = len(true_warnings) / len(warned_at) if warned_at else float("nan")
    recall = len(true_warnings) / len(missed) if missed else float("nan")
    fixed_precision = len([k for k in fixed if k in missed]) / len(fixed) if fixed else float("nan")
    fixed_recall = len([k for k in fixed if k in missed]) / len(missed) if missed else float("nan")
    earlier = [(fixed[key] - warned_at[key]) / H for key in true_warnings if key in fixed]
    print(f"== 7. forecast backtest: {runs} runs x {len(workflows)} workflows, hourly forecasts, {elapsed:.1f} s")
    print(f"   landing time: median absolute error {statistics.median(errors):.2f} h over {len(errors)} forecasts; "
          f"{inside / total_band:.1%} of landings inside the 90 % band ({open_band / total_band:.0%} of bands "
          f"open upward: pending runs had outlasted the comparable landings)")
    print(f"   calibrations that missed the PCL give-up: {len(missed)} of {len(calibrations)}")
    print(f"   at-risk warnings: {len(warned_at)}, precision {precision:.3f}, recall {recall:.3f}")
    print(f"   fixed rule (6 h before lock): {len(fixed)} warnings, precision {fixed_precision:.3f}, "
          f"recall {fixed_recall:.3f}")
    if earlier:
        print(f"   where both warn, the forecast warns {statistics.median(earlier):.1f} h earlier (median; "
              f"min {min(earlier):.1f} h, max {max(earlier):.1f} h, {len(earlier)} cases)")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.forecast", description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    run(args.runs, args.seed)


if __name__ == "__main__":
    main()
