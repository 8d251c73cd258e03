"""Why a run was decided as it was: a stored decision, the facts it rests on, and its replay."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from spyagency.core.models import RunVerdict, Source
from spyagency.core.replay import difference, replay
from spyagency.core.steering import desired_switch
from spyagency.core.words import utc_minute
from spyagency.policy import Policy
from spyagency.store import Session
from spyagency.store.decision_records import RecordedDecision, line_at, policy_label
from spyagency.store.people import active_resumes
from spyagency.store.switch import switch_change_at


@dataclass(frozen=True)
class Explanation:
    """A recorded decision, replayed under a policy: the same verdict, or how it differs."""

    record: RecordedDecision
    replayed: RunVerdict
    replayed_under: str
    mismatch: str | None  # None: the replay says what was stored

    @property
    def matches(self) -> bool:
        return self.mismatch is None


def explain(record: RecordedDecision, policy: Policy) -> Explanation:
    replayed = replay(record.inputs, policy)
    return Explanation(record, replayed, policy_label(policy), difference(record.verdict, replayed))


def explanation_lines(explanation: Explanation) -> list[str]:
    """The explanation for a terminal: the verdict, each workflow with the facts it rests on, the replay's word."""
    record, verdict = explanation.record, explanation.record.verdict
    inputs = record.inputs
    obs = inputs.observations
    lines = [f"run {record.run} as decided at {utc_minute(record.decided_at)} under policy {record.policy}: "
             f"{verdict.state.value}, release {'yes' if verdict.release else 'no'}"]
    lines += [f"  - {reason}" for reason in verdict.reasons]
    fcsr = inputs.tier0.first_conditions_safe_run
    switch = {True: "releasing", False: "paused", None: "not read"}[inputs.tier0.promptreco_enabled]
    lines.append(f"facts then: first conditions-safe run {fcsr}, Tier0's switch {switch}, stop "
                 f"{utc_minute(obs.info.stop_time) if obs.info.stop_time else 'not yet'}")
    for source in (Source.TIER0, Source.CONDDB, Source.DQM):
        health = inputs.health.get(source)
        said = "never answered" if health is None or health.last_success is None else (
            f"last answer {utc_minute(health.last_success)}" + (f", FAILING: {health.last_error}" if health.failing
                                                                else ""))
        lines.append(f"  {source.value}: {said}")
    if obs.tier0 is not None and obs.tier0.known:
        for producer, streams in obs.tier0.pcl_producers().items():
            done = ", ".join(f"{s} {'done' if obs.tier0.streams_done.get(s) else 'not done'}" for s in streams)
            lines.append(f"  Tier0 runs {producer} in {done}")
    lines.append("workflows:")
    for wf in verdict.workflows:
        lines.append(f"  {'ok' if wf.done else '--'} {wf.workflow}: {wf.state.value} [{wf.source.value}] {wf.reason}")
        ack = obs.acks.get(wf.workflow)
        if ack is not None:
            lines.append(f"       {ack.kind.value} by {ack.author} at {utc_minute(ack.created_at)}: {ack.comment}")
        check = obs.dqm.get(wf.workflow)
        if check is not None:
            lines.append(f"       DQM: {check.outcome.value} ({check.detail}), read {utc_minute(check.observed_at)}")
    for tag, uploads in sorted(obs.uploads.items()):
        for item in uploads:
            lines.append(f"  upload {item.upload.payload_hash[:12]} in {tag} since {item.upload.since}, inserted "
                         f"{utc_minute(item.upload.inserted_at)}: {item.attribution.value} ({item.why})")
    if explanation.matches:
        lines.append(f"replayed under {explanation.replayed_under}: matches the decision stored then")
    else:
        lines.append(f"replayed under {explanation.replayed_under}: DIFFERS from the decision stored then: "
                     f"{explanation.mismatch}" + ("" if explanation.replayed_under != record.policy
                                                  else " (same policy: this is a bug, please report it)"))
    return lines


def switch_lines(session: Session, policy: Policy, at: datetime, length: int = 20) -> list[str]:
    """The steering decision as it stood at ``at``: Tier0's line, each run's decision in force, the
    operators' overrides, who held the switch, and what SpyAgency wanted."""
    first_safe, line = line_at(session, at, length)
    overrides = active_resumes(session, [entry.run for entry in line], at)
    # a decision in force was re-made by every pass until the next record (records keep changes only)
    wanted = desired_switch([replace(entry, decided_at=at) for entry in line], overrides, policy, at)
    change = switch_change_at(session, at)
    held = ("not observed yet" if change is None else
            f"{'releasing' if change.enabled else 'paused'} since {utc_minute(change.observed_at)}, by "
            f"{'SpyAgency' if change.by_spyagency else 'someone else'}")
    lines = [f"steering at {utc_minute(at)}: SpyAgency wanted to {wanted.action} (run {wanted.run}): {wanted.reason}",
             f"Tier0's switch: {held}; first conditions-safe run: {first_safe}"]
    for entry in line:
        override = overrides.get(entry.run)
        said = "release" if entry.release else "hold"
        lines.append(f"  run {entry.run}: {said}, lock {utc_minute(entry.lock_time)}, decided "
                     f"{utc_minute(entry.decided_at)}: {entry.reasons[0] if entry.reasons else ''}"
                     + (f" [override by {override.author}: {override.comment}]" if override else ""))
    return lines
