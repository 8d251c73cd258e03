"""The steering decision: where Tier0's release switch should be, from Tier0's line. Pure functions.

Tier0 locks runs in order, so the decision walks its line from the first conditions-safe run:
a ready run (or one an operator overrode) lets it look at the next; the first run that is not
ready and whose lock is near asks for a pause. The switch is shared with people, so a second
step reconciles that wish with who last moved the switch (``shared_switch_step``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from spyagency.core.models import LineRun, OutboxAction, ResumeOverride, SwitchPicture
from spyagency.core.words import utc_minute
from spyagency.policy import Policy

PAUSE = OutboxAction.PAUSE.value
RESUME = OutboxAction.RESUME.value
#: Leave the switch as it is: the run that matters has not been looked at by every source yet.
WAIT = "wait"

__all__ = ["PAUSE", "RESUME", "WAIT", "SharedSwitchStep", "SteeringDecision", "desired_switch",
           "shared_switch_step"]


@dataclass(frozen=True)
class SteeringDecision:
    """What the switch should be, because of which run, and why."""

    action: str  # pause, resume, or wait (leave the switch alone)
    run: int | None
    reason: str



def _stale(entry: LineRun, policy: Policy, now: datetime) -> str | None:
    """Why the stored verdict of ``entry`` cannot be acted on, if it cannot."""
    if entry.decided_at is None:
        return "has not been decided yet"
    if entry.decided_at > now + policy.sources.clock_tolerance:
        return f"has a verdict from the future ({utc_minute(entry.decided_at)}): a clock is wrong"
    if now - entry.decided_at > policy.sources.stale_after:
        return f"has a stale verdict (decided {utc_minute(entry.decided_at)})"
    return None


def desired_switch(line: Sequence[LineRun], overrides: Mapping[int, ResumeOverride], policy: Policy,
                   now: datetime) -> SteeringDecision:
    """Pause when a run Tier0 could lock soon is not ready; else resume. A pure function.

    ``line`` is Tier0's line in run order, from the first conditions-safe run. Tier0 locks in
    that order, so the first run whose lock is not near ends the look-ahead. A ready run, or
    one an operator overrode, lets steering look at the next one.
    """
    if not line:
        return SteeringDecision(RESUME, None, "no run is waiting for release")
    passed: list[str] = []
    for entry in line:
        stale = _stale(entry, policy, now)
        if entry.lock_time is None:
            return SteeringDecision(RESUME, entry.run, _joined(passed, f"run {entry.run} is still running "
                                                                     f"(no lock time yet)"))
        pause_from = entry.lock_time - policy.deadlines.pause_before_lock
        if entry.release and stale is None:
            passed.append(f"run {entry.run} is ready")
            continue
        override = overrides.get(entry.run)
        if override is not None:
            passed.append(f"run {entry.run} is not ready, but operator {override.author} overrode at "
                          f"{utc_minute(override.created_at)}: {override.comment}")
            continue
        if now < pause_from:
            return SteeringDecision(RESUME, entry.run, _joined(passed, (
                f"run {entry.run} is not ready but its lock is not near (pause from {utc_minute(pause_from)})")))
        if entry.awaiting and stale is None:
            sources = " and ".join(entry.awaiting)
            has = "have" if len(entry.awaiting) > 1 else "has"
            return SteeringDecision(WAIT, entry.run, _joined(passed, (
                f"run {entry.run} is not ready near its lock, but {sources} {has} not looked at it yet: "
                f"no pause rests on a source that has not seen the run")))
        why = f"it {stale}" if stale else (
            entry.reasons[0] if entry.reasons else "not ready")
        minutes = f"{policy.deadlines.pause_before_lock_minutes:g}"
        return SteeringDecision(PAUSE, entry.run, f"run {entry.run} is not ready {minutes} min before its lock: {why}")
    return SteeringDecision(RESUME, line[0].run, "; ".join(passed))


def _joined(passed: list[str], last: str) -> str:
    return "; ".join([*passed, last])


@dataclass(frozen=True)
class SharedSwitchStep:
    """What to enqueue given who holds the switch: an action or None, why, and whether to stand down."""

    action: str | None
    note: str
    stand_down: bool = False
    taken_over_at: datetime | None = None  # when someone else took the switch over SpyAgency's steering
    #: someone else's pause holds back a run SpyAgency would pause for: it watches for that pause's end
    stand_by: bool = False


def _resumed_by_others(picture: SwitchPicture, margin: timedelta) -> datetime | None:
    """When someone else released the switch over SpyAgency's standing pause, if they did.

    Evidence: the pause was seen in force and then released by another; Tier0 refused SpyAgency's
    resume because someone had released it; or a reading made clearly after the pause went out
    (``margin`` covers clocks of different processes) shows the switch releasing.
    """
    change, last = picture.latest_change, picture.last_action
    if last is None or last.action != PAUSE or last.sent_at is None:
        return None
    if change is not None and change.enabled and not change.by_spyagency and (
            picture.last_action_seen or change.seen_by == "control" or change.observed_at > last.sent_at + margin):
        return change.observed_at
    if picture.observed_enabled and picture.observed_at is not None and picture.observed_at > last.sent_at + margin:
        return picture.observed_at
    return None


def shared_switch_step(desired: SteeringDecision, picture: SwitchPicture, margin: timedelta) -> SharedSwitchStep:
    """Reconcile the desired position with a switch that people use too. A pure function.

    ``margin`` is how far the clocks of SpyAgency's processes and Tier0 may disagree (the policy's
    clock tolerance): a reading within it of SpyAgency's pause may predate the pause.
    """
    change, last = picture.latest_change, picture.last_action
    if change is not None and not change.enabled and not change.by_spyagency:
        note = (f"someone else paused Tier0 at {utc_minute(change.observed_at)}: SpyAgency leaves the switch "
                f"alone until it is released again")
        stand_by = desired.action == PAUSE
        if stand_by:  # their resume would let Tier0 lock the run at once: SpyAgency takes its turn right after
            note += f"; {desired.reason}: SpyAgency pauses for it the moment the switch is released"
        return SharedSwitchStep(None, note, stand_down=True, taken_over_at=change.observed_at, stand_by=stand_by)
    if desired.action == WAIT:
        return SharedSwitchStep(None, desired.reason)
    previous = last.action if last else None
    resumed_at = _resumed_by_others(picture, margin)
    if resumed_at is not None and last is not None:
        previous = RESUME  # SpyAgency's pause is void
        if desired.action == PAUSE and desired.run == last.run:
            return SharedSwitchStep(None, f"someone resumed Tier0 at {utc_minute(resumed_at)} over SpyAgency's "
                                          f"pause for run {last.run}: SpyAgency does not pause again for it",
                                    taken_over_at=resumed_at)
    if desired.action == previous and last is not None and last.sent_at is None:
        if last.last_error:
            return SharedSwitchStep(None, f"SpyAgency wants to {desired.action} Tier0 but could not deliver it: "
                                          f"{last.last_error}; it tries again")
        return SharedSwitchStep(None, f"SpyAgency wants to {desired.action} Tier0; its action waits to be delivered")
    wanted = desired.action == RESUME
    if (desired.action == previous and picture.observed_enabled is not None and picture.observed_enabled != wanted
            and not picture.last_action_seen):
        return SharedSwitchStep(None, f"SpyAgency's {desired.action} was delivered; the switch has not shown it yet")
    if desired.action == previous or (previous is None and desired.action == RESUME):
        return SharedSwitchStep(None, "the switch already is as SpyAgency wants it")
    return SharedSwitchStep(desired.action, desired.reason)
