"""What steering would have asked of Tier0 under replayed verdicts, against what it asked under the recorded
ones: pure, over the recorded facts of a period.

Steering is a function of Tier0's line (the decisions in force of the runs from the first
conditions-safe run on), the operators' overrides and the clock. It can change only when one of
those does: a decision is recorded, the first conditions-safe run moves, an override is made, or
a run's pause moment (its lock less the policy's margin) passes. Those moments are the only ones
evaluated, so a month is replayed exactly, not sampled.

A decision in force is taken as re-made at every moment until the next record (the records keep
changes, not every pass): the replay compares policies, not outages of SpyAgency itself.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from spyagency.core.models import LineRun, ResumeOverride, RunVerdict
from spyagency.core.steering import PAUSE, SteeringDecision, desired_switch
from spyagency.policy import Policy


@dataclass(frozen=True)
class ReplayedDecision:
    """One recorded decision of a run and what the replayed policy decided on the same facts."""

    at: datetime
    recorded: RunVerdict
    replayed: RunVerdict


@dataclass(frozen=True)
class SteeringDifference:
    """A stretch of time in which steering under the replayed verdicts asks something else."""

    start: datetime
    end: datetime  # the next moment steering was evaluated (or the end of the period)
    recorded: SteeringDecision
    replayed: SteeringDecision

    @property
    def less_safe(self) -> bool:
        """The replayed policy would leave Tier0 releasing where the recorded one paused it."""
        return self.recorded.action == PAUSE and self.replayed.action != PAUSE


def line_of(verdicts: Mapping[int, RunVerdict], runs: Sequence[int], first_safe: int | None, at: datetime,
            length: int, source_names: Mapping[str, str]) -> list[LineRun]:
    """Tier0's line at ``at`` from the decisions in force (``runs``: their run numbers, sorted)."""
    start = 0 if first_safe is None else bisect.bisect_left(runs, first_safe)
    return [LineRun(v.run, v.release, v.lock_time, at, v.reasons,
                    tuple(source_names.get(s.value, s.value) for s in v.awaiting))
            for v in (verdicts[run] for run in runs[start:start + length])]


def _moments(decisions: Sequence[ReplayedDecision], fcsr: Sequence[tuple[datetime, int]],
             overrides: Sequence[tuple[datetime, int, ResumeOverride | None]], policies: Sequence[Policy],
             start: datetime, end: datetime) -> list[datetime]:
    margins = {p.deadlines.pause_before_lock for p in policies}
    found: set[datetime] = {start}
    found.update(d.at for d in decisions)
    found.update(at for at, _value in fcsr)
    found.update(at for at, _run, _override in overrides)
    for d in decisions:
        for verdict in (d.recorded, d.replayed):
            if verdict.lock_time is not None:
                found.update(verdict.lock_time - margin for margin in margins)
    return sorted(m for m in found if start <= m <= end)


def steering_differences(decisions: Iterable[ReplayedDecision], fcsr: Sequence[tuple[datetime, int]],
                         overrides: Sequence[tuple[datetime, int, ResumeOverride | None]], policy: Policy,
                         start: datetime, end: datetime, length: int = 20,
                         source_names: Mapping[str, str] | None = None,
                         baseline: Policy | None = None) -> list[SteeringDifference]:
    """Where steering under ``policy`` and the replayed verdicts differs from steering under ``baseline``
    (default ``policy``: the policy in force) and the recorded verdicts in [start, end], as stretches in time
    order: so a policy that changes only the pause margin shows where the switch moves. ``fcsr``: (first
    seen, value); ``overrides``: (made at, run, the resume it stands for, or None when withdrawn); each
    oldest first."""
    before = baseline or policy
    ordered = sorted(decisions, key=lambda d: d.at)
    names = source_names or {}
    recorded: dict[int, RunVerdict] = {}
    replayed: dict[int, RunVerdict] = {}
    runs: list[int] = []
    standing: dict[int, ResumeOverride] = {}
    first_safe: int | None = None
    next_decision = next_fcsr = next_override = 0
    differences: list[SteeringDifference] = []
    moments = _moments(ordered, fcsr, overrides, (before, policy), start, end)
    for index, moment in enumerate(moments):
        while next_decision < len(ordered) and ordered[next_decision].at <= moment:
            d = ordered[next_decision]
            if d.recorded.run not in recorded:
                bisect.insort(runs, d.recorded.run)
            recorded[d.recorded.run], replayed[d.recorded.run] = d.recorded, d.replayed
            next_decision += 1
        while next_fcsr < len(fcsr) and fcsr[next_fcsr][0] <= moment:
            first_safe = fcsr[next_fcsr][1]
            next_fcsr += 1
        while next_override < len(overrides) and overrides[next_override][0] <= moment:
            _at, run, override = overrides[next_override]
            if override is None:
                standing.pop(run, None)
            else:
                standing[run] = override
            next_override += 1
        was = desired_switch(line_of(recorded, runs, first_safe, moment, length, names), standing, before, moment)
        would = desired_switch(line_of(replayed, runs, first_safe, moment, length, names), standing, policy, moment)
        if was.action == would.action:
            continue
        until = moments[index + 1] if index + 1 < len(moments) else end
        previous = differences[-1] if differences else None
        if previous is not None and previous.end == moment and (previous.recorded.action, previous.replayed.action) \
                == (was.action, would.action):
            differences[-1] = SteeringDifference(previous.start, until, previous.recorded, previous.replayed)
        else:
            differences.append(SteeringDifference(moment, until, was, would))
    return differences
