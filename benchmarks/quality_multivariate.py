"""Benchmark 6b: would a multivariate model (scikit-learn) judge the DQM numbers better than the watch?

The watch's default (``model = "independent"``) scores each number against its own history and
adds the squares of a group's scores, as if the numbers of a group varied independently. Real
ones need not: the layers of a strip partition, or a structure's six movements, may share part of
their run-to-run noise. This compares,
on the same simulated seasons, the watch with a Mahalanobis distance per group whose covariance
is estimated by scikit-learn's Ledoit-Wolf shrinkage (from the clipped run-to-run differences, like
the watch's spreads) and judged with Hotelling's T² (SciPy's F distribution), at the same 4 σ
unless ``--threshold`` says otherwise.
Seasons are run with independent noise and with a share of each number's noise common to its group.

The model is the policy's ``model = "covariance"`` (``spyagency/core/quality_covariance.py``),
which needs the ``ml`` extra (scikit-learn).
"""

from __future__ import annotations

import argparse
import time

from simulator.quality import QualitySeason, season_anomalies
from spyagency.core.quality import QualityStatus, score_run
from spyagency.policy import load_policy

from .quality_watch import FIRST_RUN, TARGET_FPR, TARGET_RECALL, Tally, _line, walk


def run(runs: int, seed: int, correlation: float, threshold: float | None = None) -> tuple[Tally, Tally]:
    """One season: (watch, multivariate) tallies over every watched workflow."""
    policy = load_policy()
    anomalies = season_anomalies(policy, FIRST_RUN, runs, seed=seed)
    season = QualitySeason(policy, seed=seed, anomalies=anomalies, correlation=correlation)
    ours, theirs = Tally(), Tally()
    started = time.perf_counter()
    for workflow in season.workflows():
        watch = policy.workflow(workflow).quality
        assert watch is not None
        covariance = watch.model_copy(update={"model": "covariance",
                                              "threshold_sigma": threshold or watch.threshold_sigma})
        for values, magnitude, history in walk(season, anomalies, workflow, runs):
            score = score_run(workflow, watch, values, history)
            other = score_run(workflow, covariance, values, history)
            if score.status is not QualityStatus.NOT_JUDGED:
                ours.add(score.status is QualityStatus.UNUSUAL, magnitude)
                theirs.add(other.status is QualityStatus.UNUSUAL, magnitude)
    print(f"== 6b. season {seed}, shared noise {correlation:.0%}, {len(anomalies)} anomalies, "
          f"{time.perf_counter() - started:.0f} s")
    print(_line("watch (independent numbers)", ours))
    print(_line("Ledoit-Wolf + Hotelling T²", theirs))
    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality_multivariate", description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--correlations", type=float, nargs="+", default=[0.0, 0.5])
    parser.add_argument("--threshold", type=float, default=None, help="the multivariate model's σ (default: "
                                                                      "the policy's, as the watch)")
    args = parser.parse_args()
    for correlation in args.correlations:
        totals = (Tally(), Tally())
        for seed in args.seeds:
            for total, tally in zip(totals, run(args.runs, seed, correlation, args.threshold), strict=True):
                total.merge(tally)
        print(f"-- shared noise {correlation:.0%}, all seasons:")
        for name, total in zip(("watch", "Ledoit-Wolf"), totals, strict=True):
            met = total.recall >= TARGET_RECALL and total.fpr <= TARGET_FPR
            print(_line(name, total) + ("  (targets met)" if met else "  (targets NOT met)"))


if __name__ == "__main__":
    main()
