"""When will a pending calibration land? A forecast from the store's own history. Pure functions.

``forecast_staged`` splits the wait in two, run stop → express done → first upload in the run, where
the history of both stages is known; ``forecast`` is the one-stage model it falls back on.

The one-stage model is the recent runs of the same workflow, by stop time: those that landed (their latency,
run stop → first upload in the run) and those still pending (at least as late as they are now).
A Kaplan-Meier estimate over both gives the chance that a calibration is still missing t hours
after its stop; pending runs count, so a Tier0 backlog shows up before its runs land. For a
calibration pending ``elapsed`` hours, the estimate conditioned on ``elapsed`` gives the median
(the forecast) and a band from now to the 95th percentile of the comparable landings. A pending
calibration may land any moment, so the band starts now; the backtest (benchmark 7) shows that
this holds about 90 % of landings, where the 5th-95th percentiles held 77-84 % with misses on both
sides. The band is open upward when runs still pending have outlasted the comparable landings.
A run is *at risk* when the forecast
lands after the PCL give-up or after the lock, or, for one later than anything the history has seen
land, when even a typical latency from now would miss the give-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from spyagency.core.words import utc_minute

#: Too few comparable runs to say anything.
MIN_SAMPLES = 5


@dataclass(frozen=True)
class Forecast:
    """Where one pending calibration of one run should land."""

    run: int
    workflow: str
    landing: datetime | None  # the median; None when no recent run took this long
    low: datetime | None  # the band's start: now, when the forecast was made
    high: datetime | None  # 95th percentile of comparable landings; None: beyond the history
    samples: int  # recent runs the forecast rests on
    at_risk: bool
    reason: str


def survival(recent: Sequence[tuple[timedelta, bool]]) -> list[tuple[float, float]]:
    """Kaplan-Meier: (hours, chance still missing just after) at each landing time of ``recent``
    (duration, landed) pairs; a pending one (landed False) is censored at its duration."""
    items = sorted((d.total_seconds() / 3600.0, landed) for d, landed in recent)
    at_risk, chance, curve = len(items), 1.0, []
    index = 0
    while index < len(items):
        hours = items[index][0]
        landed = censored = 0
        while index < len(items) and items[index][0] == hours:
            landed += items[index][1]
            censored += not items[index][1]
            index += 1
        if landed:
            chance *= 1.0 - landed / at_risk
            curve.append((hours, chance))
        at_risk -= landed + censored
    return curve


def _still_missing(curve: Sequence[tuple[float, float]], after: float) -> float:
    """The chance that a calibration is still missing ``after`` hours after the stop."""
    base = 1.0
    for hours, chance in curve:
        if hours <= after:
            base = chance
    return base


def _quantile(curve: Sequence[tuple[float, float]], after: float, q: float) -> float | None:
    """The hours by which a fraction ``q`` of calibrations still missing at ``after`` hours have landed."""
    base = _still_missing(curve, after)
    if base <= 0.0:
        return None
    for hours, chance in curve:
        if hours > after and chance / base <= 1.0 - q + 1e-12:
            return hours
    return None



def forecast(run: int, workflow: str, stop: datetime, now: datetime, recent: Sequence[tuple[timedelta, bool]],
             give_up: timedelta, lock: timedelta) -> Forecast:
    """Forecast a calibration of ``run`` (stopped at ``stop``) not landed by ``now``, from ``recent``
    (duration, landed) pairs of the same workflow; ``give_up`` and ``lock`` count from the stop."""
    landed = sum(1 for _duration, done in recent if done)
    if landed < MIN_SAMPLES:
        return Forecast(run, workflow, None, None, None, landed, False,
                        f"only {landed} recent landing(s) of {workflow} to learn from: no forecast")
    elapsed = (now - stop).total_seconds() / 3600.0
    curve = survival(recent)
    median = _quantile(curve, elapsed, 0.5)
    if median is None:
        # later than anything the history saw land: at risk once even a typical latency from now misses
        typical = _quantile(curve, 0.0, 0.5) or 0.0
        hopeless = now + timedelta(hours=typical) > stop + give_up
        return Forecast(run, workflow, None, None, None, landed, hopeless,
                        f"later than every recent landing of {workflow}" + (
                            f": a typical {typical:.1f} h from now is after the PCL give-up "
                            f"{utc_minute(stop + give_up)}"
                            if hopeless else ": no forecast yet"))
    # the band: from now (it may land any moment) to the 95th percentile of the comparable landings
    return _conclude(run, workflow, stop, now, median, _quantile(curve, elapsed, 0.95), landed, give_up, lock,
                     f"{landed} recent landings")


def _conclude(run: int, workflow: str, stop: datetime, now: datetime, median: float, high: float | None,
              samples: int, give_up: timedelta, lock: timedelta, basis: str) -> Forecast:
    """The forecast landing ``median`` hours after the stop, its band from now to ``high`` hours, and
    whether that puts the run at risk."""
    landing = stop + timedelta(hours=median)
    high_at = stop + timedelta(hours=high) if high is not None else None
    band = f"{utc_minute(now)} – {utc_minute(high_at)}" if high_at else f"{utc_minute(now)} – beyond the history"
    at_risk, why = False, f"expected {utc_minute(landing)} (90 % band {band}; {basis})"
    if landing > stop + lock:
        at_risk, why = True, f"{why}: after the lock {utc_minute(stop + lock)}"
    elif landing > stop + give_up:
        at_risk, why = True, f"{why}: after the PCL give-up {utc_minute(stop + give_up)}"
    return Forecast(run, workflow, landing, now, high_at, samples, at_risk, why)


def _remaining(curve: Sequence[tuple[float, float]], after: float) -> list[tuple[float, float]] | None:
    """The Kaplan-Meier distribution of durations beyond ``after`` hours, as (hours, probability); the
    probability left over (pending runs that outlasted every landing) is beyond the history. None when
    nothing in the history lasted longer."""
    base = _still_missing(curve, after)
    if base <= 0.0:
        return None
    points, previous = [], base
    for hours, chance in curve:
        if hours > after:
            points.append((hours, (previous - chance) / base))
            previous = chance
    return points


def _sum_quantile(first: Sequence[tuple[float, float]], second: Sequence[tuple[float, float]],
                  q: float) -> float | None:
    """The ``q`` quantile of the sum of two independent durations (None: it lies beyond the history)."""
    total = 0.0
    for hours, chance in sorted((a + b, pa * pb) for a, pa in first for b, pb in second):
        total += chance
        if total >= q - 1e-12:
            return hours
    return None


def forecast_staged(run: int, workflow: str, stop: datetime, now: datetime, express_done: datetime | None,
                    express: Sequence[tuple[timedelta, bool]], harvest: Sequence[tuple[timedelta, bool]],
                    recent: Sequence[tuple[timedelta, bool]], give_up: timedelta, lock: timedelta) -> Forecast:
    """Forecast in two stages, stop → express done → upload, where the history of both is known.

    ``express`` holds recent runs' stop → express done durations (pending ones censored), ``harvest``
    recent calibrations' express done → upload durations. Once the run's express is done
    (``express_done``), only the harvest is left to forecast; before, the wait for the express and the
    harvest add up. A Tier0 backlog then shows as soon as a run's express is late, before any upload.
    With too little staged history, or a run later than it, the one-stage ``forecast`` from ``recent``
    (stop → upload) answers.
    """
    express_landed = sum(1 for _d, done in express if done)
    harvest_landed = sum(1 for _d, done in harvest if done)
    if harvest_landed < MIN_SAMPLES or (express_done is None and express_landed < MIN_SAMPLES):
        return forecast(run, workflow, stop, now, recent, give_up, lock)
    harvest_curve = survival(harvest)
    if express_done is not None:
        waited = (express_done - stop).total_seconds() / 3600.0
        elapsed = (now - express_done).total_seconds() / 3600.0
        median = _quantile(harvest_curve, elapsed, 0.5)
        if median is None:
            return forecast(run, workflow, stop, now, recent, give_up, lock)
        high = _quantile(harvest_curve, elapsed, 0.95)
        return _conclude(run, workflow, stop, now, waited + median, None if high is None else waited + high,
                         harvest_landed, give_up, lock,
                         f"express done {utc_minute(express_done)}; {harvest_landed} recent harvests")
    wait = _remaining(survival(express), (now - stop).total_seconds() / 3600.0) or []
    rest = _remaining(harvest_curve, 0.0) or []
    median = _sum_quantile(wait, rest, 0.5)
    if median is None:
        return forecast(run, workflow, stop, now, recent, give_up, lock)
    basis = f"express pending; {express_landed} recent express runs, {harvest_landed} harvests"
    return _conclude(run, workflow, stop, now, median, _sum_quantile(wait, rest, 0.95),
                     min(express_landed, harvest_landed), give_up, lock, basis)
