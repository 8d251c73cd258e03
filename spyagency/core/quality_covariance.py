"""A group's numbers judged together with their covariance (``model = "covariance"`` in the policy).

The watch's default adds the squares of a group's scores as if its numbers varied independently.
When they share part of their run-to-run noise (the layers of one strip partition, the movements
of one structure), that sum cries wolf. Here the group's covariance is estimated from the clipped
run-to-run differences with scikit-learn's Ledoit-Wolf shrinkage, which stays well-conditioned
with a few dozen runs, and the run's offset from the recent median is judged by Hotelling's T²
(SciPy's F distribution), which accounts for a covariance measured on few runs.

Needs the ``ml`` extra (scikit-learn, which brings NumPy and SciPy); imported only when a policy
asks for it. Benchmark 6b (``python -m benchmarks.quality_multivariate``) shows where it helps.
"""

from __future__ import annotations

from collections.abc import Sequence

#: The centre is the median of this many most recent runs, as for single numbers.
RECENT_RUNS = 15


def group_probability(history: Sequence[Sequence[float]], values: Sequence[float]) -> float | None:
    """Chance that a normal run lies as far as ``values`` from ``history`` (rows: runs, oldest first;
    columns: the group's numbers); None when there are not more runs than numbers."""
    import numpy as np
    from scipy.stats import f as fisher  # type: ignore[import-untyped]
    from sklearn.covariance import LedoitWolf  # type: ignore[import-untyped]

    past = np.asarray(history, dtype=float)
    steps = np.diff(past, axis=0) / np.sqrt(2.0)
    n, p = steps.shape
    if n <= p:
        return None
    middle = np.median(steps, axis=0)
    mad = 1.4826 * np.median(np.abs(steps - middle), axis=0)
    steps = np.clip(steps, middle - 3.5 * mad, middle + 3.5 * mad)
    covariance = LedoitWolf().fit(steps).covariance_
    offset = np.asarray(values, dtype=float) - np.median(past[-RECENT_RUNS:], axis=0)
    t2 = float(offset @ np.linalg.solve(covariance, offset))
    return float(fisher.sf(t2 * (n - p) / (p * (n - 1)), p, n - p))
