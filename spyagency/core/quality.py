"""Does a PCL workflow's output look like its recent history? Pure functions of its watched numbers
(DQM monitor elements, or its upload's payload sizes).

Each watched number of a run is compared with the same number over the workflow's recent runs:
a robust score ``z = (value - median) / (1.4826 · MAD)`` that a few odd runs in the history cannot
drag. Numbers of one group (a pixel structure's six movements; the strip gain scale) are judged
together, because a real problem moves several of them: the group's ``Σ z²`` is turned into the
equivalent Gaussian σ of its chance probability. A run is unusual when its worst group is at least
the policy's threshold; the numbers that drove it are named in the experts' words.

Slow drifts are followed (the history is a moving window); a score measured against few runs is
converted as a Student t would be, so short histories do not cry wolf; a missing number is
"unknown", never "normal", and fewer earlier runs than ``min_history`` means "not judged".
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from spyagency.policy import QualityWatch

#: Robust z-scores are clipped here: one absurd number should not overflow the group statistic.
MAX_Z = 60.0
#: The normal-equivalent σ reported when the chance probability underflows.
MAX_SIGMA = 38.0
_NORMAL = statistics.NormalDist()


class QualityStatus(str, enum.Enum):
    """What the watch says about one run's output of one workflow."""

    NORMAL = "normal"
    UNUSUAL = "unusual"
    NOT_JUDGED = "not_judged"  # too little history to compare with
    UNKNOWN = "unknown"  # the monitor elements were not (all) read


@dataclass(frozen=True)
class FeatureScore:
    """One watched number of a run against its history."""

    name: str  # e.g. "Δθx of BPIX(x+)"
    group: str
    unit: str
    value: float
    median: float  # of the history
    spread: float  # robust σ of the history
    z: float

    def words(self, history: int) -> str:
        """E.g. "Δθx of BPIX(x+) moved to 41.2 µrad, 6.1 σ from the median 3.0 of the last 50 runs"."""
        unit = f" {self.unit}" if self.unit else ""
        return (f"{self.name} at {self.value:.4g}{unit}, {abs(self.z):.1f} σ {'above' if self.z > 0 else 'below'} "
                f"the median {self.median:.4g} of the last {history} runs")


@dataclass(frozen=True)
class QualityScore:
    """The watch's word on one run's output of one workflow."""

    workflow: str
    status: QualityStatus
    sigma: float | None  # the worst group's equivalent σ
    group: str | None  # the worst group
    drivers: tuple[FeatureScore, ...]  # the worst group's numbers, largest |z| first
    history: int  # how many earlier runs it was compared with
    missing: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Plain JSON, as ``spyagency.core.codec.encode`` writes it."""
        return {"workflow": self.workflow, "status": self.status.value, "sigma": self.sigma, "group": self.group,
                "drivers": [dataclasses.asdict(f) for f in self.drivers], "history": self.history,
                "missing": list(self.missing)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> QualityScore:
        """The score ``to_json`` (or the codec) wrote: by hand, since a pass reads thousands of them."""
        return cls(data["workflow"], QualityStatus(data["status"]), data["sigma"], data["group"],
                   tuple(FeatureScore(**f) for f in data["drivers"]), data["history"], tuple(data.get("missing", ())))

    @property
    def summary(self) -> str:
        """One sentence for reasons, warnings and the console."""
        if self.status is QualityStatus.UNKNOWN:
            return f"quality unknown: {len(self.missing)} watched number(s) not read, e.g. {self.missing[0]}"
        if self.status is QualityStatus.NOT_JUDGED:
            return f"quality not judged: only {self.history} earlier run(s) to compare with"
        assert self.sigma is not None
        top = "; ".join(f.words(self.history) for f in self.drivers[:2])
        if self.status is QualityStatus.UNUSUAL:
            return f"quality UNUSUAL ({self.group} {self.sigma:.1f} σ): {top}"
        return f"quality normal (worst: {self.group} {self.sigma:.1f} σ)"


def chi2_survival(x: float, df: int) -> float:
    """P(χ²_df ≥ x) for an integer number of degrees of freedom (closed forms, no SciPy)."""
    if x <= 0:
        return 1.0
    half = x / 2.0
    if df % 2 == 0:
        term, total = 1.0, 1.0
        for i in range(1, df // 2):
            term *= half / i
            total += term
        return min(1.0, math.exp(-half) * total)
    root = math.sqrt(x)
    total = math.erfc(root / math.sqrt(2.0))
    term = root * math.sqrt(2.0 / math.pi) * math.exp(-half)
    for i in range(1, (df - 1) // 2 + 1):
        total += term
        term *= x / (2 * i + 1)
    return min(1.0, total)


def equivalent_sigma(probability: float) -> float:
    """The two-sided Gaussian σ that has this chance probability."""
    if probability <= 0.0:
        return MAX_SIGMA
    if probability >= 1.0:
        return 0.0
    return min(MAX_SIGMA, -_NORMAL.inv_cdf(probability / 2.0))


#: The centre is the median of this many most recent runs: it follows a slow drift closely.
RECENT_RUNS = 15


def _pstdev(values: Sequence[float]) -> float:
    """Population standard deviation in floats (``statistics.pstdev`` works in exact fractions: slow)."""
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / len(values))


def _robust(values: Sequence[float]) -> tuple[float, float]:
    """Centre and run-to-run spread of a history, oldest first.

    The spread comes from the differences between consecutive runs, so a slow drift (which moves
    the values but hardly their differences) is not called noise. Differences further than 3.5
    robust σ from their median are clipped before their standard deviation is taken: one odd run
    cannot inflate it, and a short history still gives a spread nearly as sure as a plain one.
    """
    centre = statistics.median(values[-RECENT_RUNS:])
    steps = [b - a for a, b in zip(values, values[1:], strict=False)]
    middle = statistics.median(steps)
    mad = 1.4826 * statistics.median(abs(s - middle) for s in steps)
    clipped = [min(middle + 3.5 * mad, max(middle - 3.5 * mad, s)) for s in steps] if mad > 0 else steps
    spread = _pstdev(clipped) / math.sqrt(2.0) if len(clipped) > 1 else 0.0
    if spread <= 0.0:  # a constant history: any change stands out, but do not divide by zero
        spread = max(abs(centre) * 1e-6, 1e-12)
    return centre, spread


def normal_equivalent(t: float, dof: int) -> float:
    """The Gaussian z with the tail probability of Student's ``t`` on ``dof`` degrees of freedom (Wallace 1959).

    A score against a spread measured on few runs is a t statistic: a 5 σ look-alike from ten runs
    happens far more often than a true 5 σ. Converting first keeps short histories from crying wolf.
    """
    if dof < 1:
        return 0.0
    return math.copysign((8 * dof + 1) / (8 * dof + 3) * math.sqrt(dof * math.log1p(t * t / dof)), t)


def _covariance_sigma(members: Sequence[FeatureScore], values: Mapping[str, float],
                      window: Sequence[Mapping[str, float]]) -> float:
    """A group's equivalent σ with its covariance (``model = "covariance"``): see quality_covariance."""
    from spyagency.core import quality_covariance

    names = [f.name for f in members]
    rows = [[run[name] for name in names] for run in window if all(name in run for name in names)]
    probability = quality_covariance.group_probability(rows, [values[name] for name in names])
    if probability is None:  # fewer runs than numbers: fall back on the independent sum
        return equivalent_sigma(chi2_survival(sum(f.z * f.z for f in members), len(members)))
    return equivalent_sigma(probability)


#: Raised whenever the scoring itself changes: every stored score is then computed again.
SCORING_VERSION = 1


def score_keys(workflow: str, watch: QualityWatch, windows: Mapping[int, Sequence[int]]) -> dict[int, str]:
    """For each run, what its score depends on besides numbers that never change: the watch, the scoring,
    and the runs of its history (``windows``: run -> earlier runs compared with)."""
    said = hashlib.sha256(json.dumps([SCORING_VERSION, workflow, watch.model_dump(mode="json")],
                                     sort_keys=True).encode())
    keys = {}
    for run, history in windows.items():
        key = said.copy()  # the digest of said + history, without hashing said again for every run
        key.update(str(list(history)).encode())
        keys[run] = key.hexdigest()
    return keys


def score_run(workflow: str, watch: QualityWatch, values: Mapping[str, float] | None,
              history: Sequence[Mapping[str, float]]) -> QualityScore:
    """Score one run's watched numbers (``values``) against ``history`` (earlier runs, newest last)."""
    names = watch.feature_names()
    missing = tuple(name for name, _group in names if values is None or name not in values)
    if missing:
        return QualityScore(workflow, QualityStatus.UNKNOWN, None, None, (), len(history), missing)
    assert values is not None
    window = list(history)[-watch.history_runs:]
    units = watch.units()
    features: list[FeatureScore] = []
    for name, group in names:
        past = [run[name] for run in window if name in run]
        if len(past) < watch.min_history:
            return QualityScore(workflow, QualityStatus.NOT_JUDGED, None, None, (), len(past))
        median, spread = _robust(past)
        z = max(-MAX_Z, min(MAX_Z, normal_equivalent((values[name] - median) / spread, len(past) - 1)))
        features.append(FeatureScore(name, group, units[name], values[name], median, spread, z))
    groups: dict[str, list[FeatureScore]] = {}
    for feature in features:
        groups.setdefault(feature.group, []).append(feature)
    if watch.model == "covariance":
        sigma_of = {group: _covariance_sigma(members, values, window) for group, members in groups.items()}
    else:
        sigma_of = {group: equivalent_sigma(chi2_survival(sum(f.z * f.z for f in members), len(members)))
                    for group, members in groups.items()}
    worst = max(sigma_of, key=lambda group: (sigma_of[group], group))
    drivers = tuple(sorted(groups[worst], key=lambda f: -abs(f.z)))
    status = QualityStatus.UNUSUAL if sigma_of[worst] >= watch.threshold_sigma else QualityStatus.NORMAL
    return QualityScore(workflow, status, sigma_of[worst], worst, drivers, len(window))
