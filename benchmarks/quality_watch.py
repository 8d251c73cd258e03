"""Benchmark 6: the quality watch on a simulated season, against a fixed-threshold baseline.

A season of runs (2,000 by default) with every watched workflow's numbers (DQM monitor elements, or
the payload size of the upload): noise, slow drifts, and anomalies injected at known runs and
magnitudes (one group moved by 4, 5, 6 or 8 σ in some of its numbers). Each run is scored against
the runs before it, as SpyAgency does live. The baseline, computed in the same run over the same
numbers, is the fixed-threshold rule a PCL monitor would apply: a number more than 4 σ from the
season's nominal value flags the run.

Printed per workflow and overall: precision, recall (also by magnitude), false-positive rate of
clean runs. Targets: recall ≥ 0.95 at ≥ 4 σ with a false-positive rate ≤ 1 % of clean runs.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from simulator.quality import NOMINAL, Anomaly, QualitySeason, season_anomalies
from spyagency.core.quality import QualityStatus, score_run
from spyagency.policy import Policy, load_policy

FIRST_RUN = 380000
TARGET_RECALL = 0.95
TARGET_FPR = 0.01


@dataclass
class Tally:
    """Flags against truth for one workflow and one method."""

    flagged_bad: int = 0
    missed_bad: int = 0
    flagged_clean: int = 0
    clean: int = 0
    by_magnitude: dict[float, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    def add(self, flagged: bool, magnitude: float | None) -> None:
        if magnitude is None:
            self.clean += 1
            self.flagged_clean += flagged
            return
        self.by_magnitude[magnitude][0] += flagged
        self.by_magnitude[magnitude][1] += 1
        if flagged:
            self.flagged_bad += 1
        else:
            self.missed_bad += 1

    @property
    def recall(self) -> float:
        bad = self.flagged_bad + self.missed_bad
        return self.flagged_bad / bad if bad else float("nan")

    @property
    def precision(self) -> float:
        flagged = self.flagged_bad + self.flagged_clean
        return self.flagged_bad / flagged if flagged else float("nan")

    @property
    def fpr(self) -> float:
        return self.flagged_clean / self.clean if self.clean else float("nan")

    def merge(self, other: Tally) -> None:
        self.flagged_bad += other.flagged_bad
        self.missed_bad += other.missed_bad
        self.flagged_clean += other.flagged_clean
        self.clean += other.clean
        for magnitude, (hit, total) in other.by_magnitude.items():
            self.by_magnitude[magnitude][0] += hit
            self.by_magnitude[magnitude][1] += total


def fixed_threshold(season: QualitySeason, workflow: str, sigmas: float = 4.0) -> Callable[[Mapping[str, float]], bool]:
    """The baseline: any number more than ``sigmas`` nominal σ from its nominal value."""
    nominal = {name: NOMINAL.get(_unit_of(season, workflow, name), NOMINAL[""])
               for name in season.values(FIRST_RUN, workflow)}

    def flagged(values: Mapping[str, float]) -> bool:
        return any(abs(value - nominal[name]) > sigmas * season.spread(workflow, name)
                   for name, value in values.items())
    return flagged


def _unit_of(season: QualitySeason, workflow: str, name: str) -> str:
    watch = season.policy.workflow(workflow).quality
    assert watch is not None
    return watch.units()[name]


def walk(season: QualitySeason, anomalies: Mapping[int, Anomaly], workflow: str,
         runs: int) -> Iterator[tuple[dict[str, float], float | None, list[dict[str, float]]]]:
    """Each run of the season in order: its numbers, the anomaly's magnitude (None: clean) and the
    history before it. The history holds what experts let through: a flagged clean run is accepted
    on review, a real anomaly is not (SpyAgency's history likewise skips outputs flagged and not accepted)."""
    history: list[dict[str, float]] = []
    for run_number in range(FIRST_RUN, FIRST_RUN + runs):
        values = season.values(run_number, workflow)
        anomaly = anomalies.get(run_number)
        magnitude = anomaly.magnitude if anomaly is not None and anomaly.workflow == workflow else None
        yield values, magnitude, history
        if magnitude is None:
            history.append(values)


def run(policy: Policy, runs: int = 2000, seed: int = 1) -> dict[str, tuple[Tally, Tally]]:
    """Score a season; return per workflow (watch tally, baseline tally)."""
    anomalies = season_anomalies(policy, FIRST_RUN, runs, seed=seed)
    season = QualitySeason(policy, seed=seed, anomalies=anomalies)
    results: dict[str, tuple[Tally, Tally]] = {}
    started = time.perf_counter()
    for workflow in season.workflows():
        watch = policy.workflow(workflow).quality
        assert watch is not None
        baseline = fixed_threshold(season, workflow)
        ours, theirs = Tally(), Tally()
        for values, magnitude, history in walk(season, anomalies, workflow, runs):
            score = score_run(workflow, watch, values, history)
            if score.status is not QualityStatus.NOT_JUDGED:
                ours.add(score.status is QualityStatus.UNUSUAL, magnitude)
                theirs.add(baseline(values), magnitude)
        results[workflow] = (ours, theirs)
    elapsed = time.perf_counter() - started
    _print(results, runs, len(anomalies), elapsed)
    return results


def _line(name: str, tally: Tally) -> str:
    magnitudes = " ".join(f"{m:g}σ:{hit}/{total}" for m, (hit, total) in sorted(tally.by_magnitude.items()))
    return (f"   {name:<28} precision {tally.precision:5.3f}  recall {tally.recall:5.3f}  "
            f"false-positive rate {tally.fpr * 100:5.2f} % of {tally.clean} clean runs   [{magnitudes}]")


def _print(results: dict[str, tuple[Tally, Tally]], runs: int, anomalies: int, elapsed: float) -> None:
    print(f"== 6. quality watch: season of {runs} runs, {anomalies} anomalies injected, scored in {elapsed:.1f} s")
    total_ours, total_theirs = Tally(), Tally()
    for workflow, (ours, theirs) in results.items():
        print(_line(f"{workflow} (watch)", ours))
        print(_line(f"{workflow} (fixed 4σ)", theirs))
        total_ours.merge(ours)
        total_theirs.merge(theirs)
    print(_line("overall (watch)", total_ours))
    print(_line("overall (fixed 4σ)", total_theirs))
    met = total_ours.recall >= TARGET_RECALL and total_ours.fpr <= TARGET_FPR
    print(f"   target recall ≥ {TARGET_RECALL} with false positives ≤ {TARGET_FPR:.0%}: "
          f"{'met' if met else 'NOT met'}; recall {total_ours.recall / max(total_theirs.recall, 1e-9):.2f}× "
          f"the baseline's, false positives {total_ours.fpr / max(total_theirs.fpr, 1e-9):.2f}× the baseline's")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality_watch", description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="one season per seed")
    args = parser.parse_args()
    for seed in args.seeds:
        run(load_policy(), args.runs, seed)


if __name__ == "__main__":
    main()
