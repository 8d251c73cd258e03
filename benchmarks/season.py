"""Benchmark 8: a season through Tier0's real rules, SpyAgency steering it with SQL on the real switch table.

The world (``tests/support/season.py`` on ``tests/support/reference_world.py``) is written from
``shared/reference/CMS.md`` alone: collision, cosmics and heavy-ion runs with the production express
lists, run-number gaps, backlogs, late and missing calibrations, late uploads moved onto the first
conditions-safe run, the data service down for minutes to hours, the Offline Run Manager pausing by
hand, AlCa experts answering SpyAgency's pauses after an hour or three, and Tier0 locking in run order
only while the switch is on. SpyAgency observes and decides every 10 simulated minutes and steers
every pass. Printed per seed:

- premature locks (a run locked with a required calibration neither in nor acknowledged): must be 0;
- writes over a person and duplicate writes to the switch: must be 0;
- pause cost: hours Tier0 was paused by SpyAgency, against an oracle that knows when every
  calibration lands and pauses only from a run's lock until it is ready (the ratio is the figure to
  drive down), and the prompt-reco delay added per run (median, 95th percentile, worst) for both;
- unnecessary pauses: pauses for a run that became ready before its lock would have passed anyway.
"""

from __future__ import annotations

import argparse
import statistics

from spyagency.policy import load_policy
from tests.support.season import SeasonReport, plan_season, play


def _spread(values: list[float]) -> str:
    if not values:
        return "no run"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"median {statistics.median(ordered):.2f} h, p95 {p95:.2f} h, worst {ordered[-1]:.2f} h"


def report(seed: int, days: float, season: SeasonReport) -> None:
    print(f"== seed {seed}: {days:g} days, {season.runs} runs, {season.locked} locked by Tier0, "
          f"{season.cycles} cycles in {season.wall_s:.0f} s ({season.wall_s / max(1, season.cycles) * 1000:.0f} ms "
          f"a cycle)")
    print(f"   premature locks: {len(season.premature_locks)}; writes over a person: "
          f"{len(season.writes_over_a_person)}; duplicate writes: {len(season.duplicate_writes)}")
    for line in season.premature_locks + season.writes_over_a_person + season.duplicate_writes:
        print(f"     {line}")
    print(f"   paused by SpyAgency {season.spyagency_pause_hours:.1f} h in {season.pauses} pause(s); oracle "
          f"{season.oracle_pause_hours:.1f} h; ratio SpyAgency / oracle {season.ratio:.2f} (goal <= 1.3)")
    excess = season.excess
    print(f"   where the hours differ: SpyAgency paused {excess.before_h:.1f} h before the oracle's pauses began, "
          f"{excess.after_h:.1f} h after they ended, {excess.between_h:.1f} h between two of them, and "
          f"{excess.unmatched_h:.1f} h in pauses the oracle never made; the oracle paused {excess.oracle_only_h:.1f} h "
          f"that SpyAgency did not")
    print(f"   prompt-reco delay added per locked run: SpyAgency {_spread(season.delays_h)}; "
          f"oracle {_spread(season.oracle_delays_h)}")
    print(f"   unnecessary pauses: {season.unnecessary_pauses} of {season.pauses}")
    print(f"   pauses right after a person resumed their own pause (SpyAgency stood by under it): "
          f"{len(season.pauses_after_a_persons_resume)}")
    for line in season.pauses_after_a_persons_resume:
        print(f"     {line}")
    for note in season.notes:
        print(f"     {note}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.season", description=__doc__)
    parser.add_argument("--days", type=float, default=90.0)
    parser.add_argument("--seed", type=int, action="append", help="repeat for several seeds (default: 1)")
    parser.add_argument("--policy", metavar="FILE",
                        help="the policy SpyAgency runs (default: the shipped one); a premature lock is still "
                             "judged by the shipped policy's calibrations")
    args = parser.parse_args()
    policy = load_policy(args.policy)
    if args.policy:
        print(f"== SpyAgency runs {args.policy}: pauses {policy.deadlines.pause_before_lock_minutes:g} min "
              f"before a lock")
    for seed in args.seed or [1]:
        plan = plan_season(args.days, seed)
        season = play(plan, policy=policy,
                      progress=(lambda line: print(f"   … {line}", flush=True)) if args.days > 7 else None)
        report(seed, args.days, season)


if __name__ == "__main__":
    main()
