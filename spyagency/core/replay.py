"""Replaying a decision from the facts it was made from: pure, so a stored decision is re-derived exactly.

A ``DecisionInputs`` is what ``readiness.decide_run`` read for one run at one moment. ``replay``
decides it again under a policy (the one of the time, or a new one for a what-if), and
``difference`` says how two verdicts of the same run differ, the less safe way first.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from spyagency.core.codec import decode, encode
from spyagency.core.models import RunObservations, RunVerdict, Source, SourceHealth, Tier0Global
from spyagency.core.quality import QualityScore
from spyagency.core.readiness import decide_run
from spyagency.policy import Policy


@dataclass(frozen=True)
class DecisionInputs:
    """Everything one run's decision read, and when it was made."""

    observations: RunObservations
    tier0: Tier0Global
    health: dict[Source, SourceHealth]
    now: datetime

    def to_json(self) -> dict[str, Any]:
        observations = encode(replace(self.observations, quality={}))
        return {"observations": observations, "quality": encode(self.observations.quality),
                "tier0": encode(self.tier0), "health": encode(self.health), "now": self.now.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DecisionInputs:
        observations: RunObservations = decode(RunObservations, data["observations"])
        quality = {name: QualityScore.from_json(score) for name, score in (data.get("quality") or {}).items()}
        return cls(replace(observations, quality=quality), decode(Tier0Global, data["tier0"]),
                   decode(dict[Source, SourceHealth], data["health"]), datetime.fromisoformat(data["now"]))


def replay(inputs: DecisionInputs, policy: Policy) -> RunVerdict:
    """The verdict ``policy`` gives on these facts at their moment."""
    return decide_run(inputs.observations, policy, inputs.tier0, inputs.health, inputs.now)


def verdict_digest(verdict: RunVerdict) -> str:
    """What a verdict says, whatever its time: two decisions with the same digest say the same."""
    said = encode(replace(verdict, decided_at=datetime(2000, 1, 1)))
    return hashlib.sha256(json.dumps(said, sort_keys=True).encode()).hexdigest()


def difference(recorded: RunVerdict, replayed: RunVerdict) -> str | None:
    """How ``replayed`` differs from ``recorded``, in words; None if it says the same."""
    if verdict_digest(recorded) == verdict_digest(replayed):
        return None
    if replayed.release and not recorded.release:
        return (f"LESS SAFE: would release run {replayed.run} ({replayed.reasons[0] if replayed.reasons else ''}); "
                f"recorded: {recorded.state.value}: {recorded.reasons[0] if recorded.reasons else ''}")
    if recorded.release and not replayed.release:
        return (f"holds run {replayed.run} the recorded decision released: "
                f"{replayed.reasons[0] if replayed.reasons else replayed.state.value}")
    changed = [f"{new.workflow} {old.state.value}→{new.state.value}"
               for old, new in zip(recorded.workflows, replayed.workflows, strict=False)
               if (old.workflow, old.state) != (new.workflow, new.state)]
    if changed:
        return f"same release answer, other words: {', '.join(changed)}"
    return f"same release answer, other words: {_reasons_differ(recorded, replayed)}"


def _reasons_differ(recorded: RunVerdict, replayed: RunVerdict) -> str:
    """The first reason that differs, both ways, or the workflow whose reason does."""
    for old, new in zip(recorded.workflows, replayed.workflows, strict=False):
        if old.reason != new.reason:
            return f"{new.workflow}: recorded \"{old.reason}\", replayed \"{new.reason}\""
    for old_reason, new_reason in zip(recorded.reasons, replayed.reasons, strict=False):
        if old_reason != new_reason:
            return f"recorded \"{old_reason}\", replayed \"{new_reason}\""
    return (f"recorded {len(recorded.reasons)} reason(s), replayed {len(replayed.reasons)}: "
            f"\"{'; '.join(recorded.reasons)}\" against \"{'; '.join(replayed.reasons)}\"")
