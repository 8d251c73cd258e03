"""What a policy would have decided over a recorded period: per run, and for Tier0's switch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from spyagency.core.replay import difference, replay
from spyagency.core.steering_replay import ReplayedDecision, SteeringDifference, steering_differences
from spyagency.core.words import utc_minute
from spyagency.policy import Policy
from spyagency.store import Session
from spyagency.store.decision_records import decisions_between, decisions_in_force, fcsr_at, policy_label
from spyagency.store.observations import fcsr_history
from spyagency.store.people import override_history
from spyagency.store.queries import SOURCE_NAMES


@dataclass(frozen=True)
class WhatIf:
    """The differences a policy makes over a recorded period."""

    policy: str
    start: datetime
    end: datetime
    records: int
    runs: int
    first: dict[int, tuple[datetime, str]]  # run -> first moment its verdict differs, and how
    steering: list[SteeringDifference]
    baseline: str = ""  # the policy the recorded switch is steered under

    @property
    def less_safe_runs(self) -> list[int]:
        return sorted(run for run, (_at, words) in self.first.items() if words.startswith("LESS SAFE"))

    @property
    def less_safe(self) -> bool:
        return bool(self.less_safe_runs) or any(d.less_safe for d in self.steering)


def what_if(session: Session, policy: Policy, start: datetime, end: datetime,
            baseline: Policy | None = None) -> WhatIf:
    """Replay every decision recorded in [start, end] (and those in force at its start) under ``policy``;
    steering is compared with the recorded verdicts steered under ``baseline`` (the policy in force)."""
    in_force = decisions_in_force(session, start, fcsr_at(session, start))
    during = decisions_between(session, start, end)
    first: dict[int, tuple[datetime, str]] = {}
    replayed: list[ReplayedDecision] = []
    for record in in_force + during:
        verdict = replay(record.inputs, policy)
        replayed.append(ReplayedDecision(record.decided_at, record.verdict, verdict))
        differs = difference(record.verdict, verdict)
        if differs is not None and record.decided_at >= start and record.run not in first:
            first[record.run] = (record.decided_at, differs)
    fcsr = [(span.first_seen, span.value) for span in fcsr_history(session) if span.first_seen <= end]
    steering = steering_differences(replayed, fcsr, override_history(session, end), policy, start, end,
                                    source_names=SOURCE_NAMES, baseline=baseline)
    return WhatIf(policy_label(policy), start, end, len(during), len({r.run for r in during}), first, steering,
                  policy_label(baseline or policy))


def what_if_lines(found: WhatIf) -> list[str]:
    """The what-if for a terminal: the less safe first."""
    lines = [f"{found.records} recorded decisions of {found.runs} runs between {utc_minute(found.start)} and "
             f"{utc_minute(found.end)}, replayed under {found.policy}"]
    less_safe = found.less_safe_runs
    for run in less_safe + sorted(set(found.first) - set(less_safe)):
        at, words = found.first[run]
        lines.append(f"  run {run}, first at {utc_minute(at)}: {words}")
    if not found.first:
        lines.append("  no decision differs")
    lines.append(f"{len(less_safe)} run(s) the new policy would release where the recorded one held them")
    unsafe = [d for d in found.steering if d.less_safe]
    lines.append(f"steering: {len(found.steering)} stretch(es) where Tier0's switch would differ from the "
                 f"recorded verdicts steered under {found.baseline or found.policy}, {len(unsafe)} of them less safe")
    for d in unsafe + [d for d in found.steering if not d.less_safe]:
        lines.append(f"  {'LESS SAFE ' if d.less_safe else ''}{utc_minute(d.start)} to {utc_minute(d.end)}: "
                     f"recorded {d.recorded.action} (run {d.recorded.run}: {d.recorded.reason}); "
                     f"{found.policy} would {d.replayed.action} (run {d.replayed.run}: {d.replayed.reason})")
    return lines
