"""Simulated DQM numbers of PCL outputs over a season: noise, slow drifts, and anomalies at known runs.

Every watched number has a nominal value and a run-to-run spread (σ). It drifts slowly (a sine of
about a σ over a few hundred runs, as alignment and gains do between interventions) and carries
Gaussian noise, reproducible per run. An anomaly moves one group (a pixel structure, the strip gain
scale) by ``magnitude`` σ in some of its numbers, as a bad fit or a miscalibration would.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

from spyagency.policy import Policy, QualityFeature, UploadFeature

#: Run-to-run spread of a number, by unit: pixel movements in µm and µrad; strip MPVs; gain ratios (no
#: unit); module hit efficiencies; relative Lorentz-angle changes in %; pedestal shifts in ADC counts;
#: payload sizes in bytes (a list of bad channels a few % longer or shorter from run to run).
SPREAD = {"µm": 3.0, "µrad": 10.0, "ADC/mm": 2.0, "": 0.004, "efficiency": 0.002, "%": 0.3, "ADC": 0.05,
          "bytes": 300.0}
NOMINAL = {"µm": 0.0, "µrad": 0.0, "ADC/mm": 300.0, "": 1.0, "efficiency": 0.985, "%": 0.5, "ADC": 0.0,
           "bytes": 12000.0}


@dataclass(frozen=True)
class Anomaly:
    """A known bad output: ``workflow``'s ``group`` moved by ``magnitude`` σ in ``features`` of its numbers."""

    run: int
    workflow: str
    group: str
    magnitude: float
    features: int  # how many numbers of the group moved


def _seed(*parts: object) -> int:
    """A seed that is the same in every process (``hash`` of a str is not)."""
    return zlib.crc32("|".join(str(p) for p in parts).encode())


class QualitySeason:
    """The watched numbers of every run of a season, for every workflow the policy watches."""

    def __init__(self, policy: Policy, seed: int = 1, anomalies: Mapping[int, Anomaly] | None = None,
                 drift_sigma: float = 3.0, drift_runs: float = 400.0, correlation: float = 0.0) -> None:
        self.policy, self.seed, self.correlation = policy, seed, correlation
        self.anomalies = dict(anomalies or {})
        self.drift_sigma, self.drift_runs = drift_sigma, drift_runs
        self._values: dict[tuple[int, str], dict[str, float]] = {}
        self._features: dict[str, list[tuple[str, str, QualityFeature | UploadFeature]]] = {
            wf.name: [(name, group, feature) for feature in wf.quality.watched() for name, group in feature.names()]
            for wf in policy.workflows if wf.quality}

    def workflows(self) -> list[str]:
        return list(self._features)

    def spread(self, workflow: str, name: str) -> float:
        """The run-to-run σ of one number."""
        unit = next(f.unit for n, _g, f in self._features[workflow] if n == name)
        return SPREAD.get(unit, SPREAD[""])

    def values(self, run: int, workflow: str) -> dict[str, float]:
        """The watched numbers of ``run``'s output of ``workflow``."""
        key = (run, workflow)
        if key not in self._values:  # a GUI serving 60 monitor elements of one output computes them once
            if len(self._values) > 50_000:
                self._values.clear()
            self._values[key] = self._compute(run, workflow)
        return dict(self._values[key])

    def _compute(self, run: int, workflow: str) -> dict[str, float]:
        rng = random.Random(_seed(self.seed, workflow, run))
        anomaly = self.anomalies.get(run)
        moved: dict[str, float] = {}
        if anomaly is not None and anomaly.workflow == workflow:
            members = [n for n, g, _f in self._features[workflow] if g == anomaly.group]
            chosen = random.Random(_seed(self.seed, "anomaly", run)).sample(members, min(anomaly.features,
                                                                                          len(members)))
            signs = random.Random(_seed(self.seed, "sign", run))
            moved = {name: anomaly.magnitude * signs.choice((-1.0, 1.0)) for name in chosen}
        # ``correlation``: the share of a number's noise its group shares (one structure, one partition)
        shared: dict[str, float] = {}
        if self.correlation > 0:
            common = random.Random(_seed(self.seed, "shared", workflow, run))
            shared = {group: common.gauss(0.0, 1.0) for group in sorted({g for _n, g, _f in self._features[workflow]})}
        values = {}
        for index, (name, group, feature) in enumerate(self._features[workflow]):
            sigma = SPREAD.get(feature.unit, SPREAD[""])
            spread_like = feature.take in ("rms", "contents_rms")
            nominal = NOMINAL.get(feature.unit, NOMINAL[""]) + (10 * sigma if spread_like else 0.0)
            phase = _seed(self.seed, workflow, name) % 628 / 100.0
            drift = self.drift_sigma * sigma * math.sin(2 * math.pi * run / self.drift_runs + phase + index)
            noise = rng.gauss(0.0, 1.0)
            if shared:
                noise = math.sqrt(self.correlation) * shared[group] + math.sqrt(1.0 - self.correlation) * noise
            value = nominal + drift + noise * sigma + moved.get(name, 0.0) * sigma
            values[name] = float(max(1, round(value))) if feature.unit == "bytes" else value  # whole bytes
        return values

    def element(self, run: int, workflow: str, histogram: str) -> SimElement | None:
        """Monitor element ``histogram`` of ``run``'s output of ``workflow``, or None if it is not watched."""
        specs = [(n, f) for n, _g, f in self._features.get(workflow, [])
                 if isinstance(f, QualityFeature) and f.histogram == histogram]
        if not specs:
            return None
        values = self.values(run, workflow)
        bins = [values[name] for name, feature in specs if feature.take == "bins"]
        taken = {feature.take: values[name] for name, feature in specs if feature.take != "bins"}
        contents: tuple[float, ...] = ()
        if "contents_mean" in taken or "contents_rms" in taken:
            contents = _contents_with(taken.get("contents_mean", 0.0), taken.get("contents_rms", 1.0),
                                      structure_bins(histogram), random.Random(_seed(self.seed, histogram, run)))
        label = specs[0][1].label
        return SimElement(title=label, bins=tuple(bins), mean=taken.get("mean"), rms=taken.get("rms"),
                          unit=specs[0][1].unit, contents=contents)


#: Bins of MillePede's high-granularity movement histograms (``Xpos_HG_Layer1`` ...): one per ladder of a
#: barrel layer (12, 28, 44, 64 in the Phase-1 pixel barrel), one per panel of a forward disk (56 blades × 2).
HG_BINS = {"Layer1": 12, "Layer2": 28, "Layer3": 44, "Layer4": 64}
PANELS_PER_DISK = 112


def structure_bins(histogram: str) -> int:
    """How many bins a per-structure histogram has (a ladder or a panel each; 20 when unknown)."""
    structure = histogram.rsplit("_", 1)[-1]
    if structure in HG_BINS:
        return HG_BINS[structure]
    return PANELS_PER_DISK if structure.startswith("Disk") else 20


def _contents_with(mean: float, rms: float, bins: int, rng: random.Random) -> tuple[float, ...]:
    """``bins`` bin contents whose mean and (population) RMS are exactly ``mean`` and ``rms``."""
    draws = [rng.gauss(0.0, 1.0) for _ in range(bins)]
    centre = sum(draws) / bins
    scale = math.sqrt(sum((d - centre) ** 2 for d in draws) / bins) or 1.0
    return tuple(mean + rms * (d - centre) / scale for d in draws)


@dataclass(frozen=True)
class SimElement:
    """What a monitor element shows of the watched numbers: MillePede-style bins, a mean and RMS, or
    per-structure contents."""

    title: str
    bins: tuple[float, ...]
    mean: float | None
    rms: float | None
    unit: str
    contents: tuple[float, ...] = ()  # one bin per ladder or panel: their mean and RMS are watched


def season_anomalies(policy: Policy, first_run: int, runs: int, rate: float = 0.03, seed: int = 1,
                     magnitudes: tuple[float, ...] = (4.0, 5.0, 6.0, 8.0)) -> dict[int, Anomaly]:
    """Anomalies at known runs: about ``rate`` of the runs, each in one workflow's group."""
    rng = random.Random(seed)
    watched = [wf for wf in policy.workflows if wf.quality]
    found: dict[int, Anomaly] = {}
    for run in range(first_run, first_run + runs):
        if rng.random() >= rate:
            continue
        wf = rng.choice(watched)
        assert wf.quality is not None
        groups = sorted({group for _name, group in wf.quality.feature_names()})
        group = rng.choice(groups)
        size = sum(1 for _name, g in wf.quality.feature_names() if g == group)
        found[run] = Anomaly(run, wf.name, group, rng.choice(magnitudes), rng.randint(min(2, size), size))
    return found
