"""The release switch shared with people, as a pure rule: who holds it decides what SpyAgency may do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from spyagency.core.models import SteeringAction, SwitchChange, SwitchPicture
from spyagency.core.steering import PAUSE, RESUME, SteeringDecision, shared_switch_step

T = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
MARGIN = timedelta(minutes=5)
PAUSE_386925 = SteeringDecision(PAUSE, 386925, "run 386925 is not ready 60 min before its lock")
RESUME_ALL = SteeringDecision(RESUME, 386925, "run 386925 is ready")
OUR_PAUSE = SteeringAction(1, PAUSE, 386925, "not ready", T, T)


def picture(change: SwitchChange | None, *, last: SteeringAction | None = OUR_PAUSE, seen: bool = False,
            observed: bool | None = None, observed_at: datetime | None = None) -> SwitchPicture:
    return SwitchPicture(change, last, seen, observed, observed_at)


def test_someone_elses_pause_makes_spyagency_stand_down():
    foreign_pause = SwitchChange(False, T + 10 * MARGIN, by_spyagency=False)
    step = shared_switch_step(RESUME_ALL, picture(foreign_pause), MARGIN)
    assert step.action is None and step.stand_down and step.taken_over_at == T + 10 * MARGIN
    assert "someone else paused Tier0" in step.note
    own = shared_switch_step(RESUME_ALL, picture(SwitchChange(False, T, by_spyagency=True), seen=True), MARGIN)
    assert own.action == RESUME and not own.stand_down  # its own pause: SpyAgency may lift it


def test_under_someone_elses_pause_spyagency_stands_by_for_the_run_it_would_pause_for():
    foreign_pause = SwitchChange(False, T + 10 * MARGIN, by_spyagency=False)
    waiting = shared_switch_step(PAUSE_386925, picture(foreign_pause, last=None), MARGIN)
    assert waiting.action is None and waiting.stand_down and waiting.stand_by
    assert "run 386925 is not ready" in waiting.note and "the moment the switch is released" in waiting.note
    assert not shared_switch_step(RESUME_ALL, picture(foreign_pause, last=None), MARGIN).stand_by
    # their resume of their own pause: SpyAgency, which never paused for the run, now may
    released = SwitchChange(True, T + 12 * MARGIN, by_spyagency=False)
    assert shared_switch_step(PAUSE_386925, picture(released, last=None), MARGIN).action == PAUSE


def test_a_resume_over_spyagencys_pause_is_never_paused_again_for_that_run():
    resumed = SwitchChange(True, T + 2 * MARGIN, by_spyagency=False)  # seen clearly after the pause went out
    step = shared_switch_step(PAUSE_386925, picture(resumed), MARGIN)
    assert step.action is None and step.taken_over_at == T + 2 * MARGIN
    assert "does not pause again for it" in step.note
    other_run = SteeringDecision(PAUSE, 386926, "run 386926 is not ready")
    assert shared_switch_step(other_run, picture(resumed), MARGIN).action == PAUSE  # a new run: a new pause
    assert shared_switch_step(RESUME_ALL, picture(resumed), MARGIN).action is None  # already released


def test_what_proves_someone_resumed_over_the_pause():
    early = SwitchChange(True, T + MARGIN, by_spyagency=False)  # within the clock margin of the pause
    # a reading within the margin may predate the pause: no evidence, the pause stands
    assert shared_switch_step(PAUSE_386925, picture(early), MARGIN).action is None
    assert shared_switch_step(PAUSE_386925, picture(early), MARGIN).taken_over_at is None
    # the pause was seen in force before: any later release is someone else's
    assert shared_switch_step(PAUSE_386925, picture(early, seen=True), MARGIN).taken_over_at == T + MARGIN
    # Tier0 refused SpyAgency's own write because someone had released it
    refused = SwitchChange(True, T + MARGIN, by_spyagency=False, seen_by="control")
    assert shared_switch_step(PAUSE_386925, picture(refused), MARGIN).taken_over_at == T + MARGIN
    # no recorded change, but a poll well after the pause reads the switch releasing
    def reading(enabled: bool, at: datetime) -> datetime | None:
        return shared_switch_step(PAUSE_386925, picture(None, observed=enabled, observed_at=at), MARGIN).taken_over_at

    assert reading(True, T + 2 * MARGIN) == T + 2 * MARGIN
    assert reading(True, T + MARGIN) is None
    assert reading(False, T + 2 * MARGIN) is None
    # SpyAgency's own resume is not someone else's
    ours = SwitchChange(True, T + 2 * MARGIN, by_spyagency=True)
    assert shared_switch_step(PAUSE_386925, picture(ours), MARGIN).taken_over_at is None
    # a pause not yet sent has nothing to be resumed over
    unsent = SteeringAction(1, PAUSE, 386925, "not ready", T, None)
    assert shared_switch_step(PAUSE_386925, picture(early, last=unsent, seen=True), MARGIN).taken_over_at is None


def test_the_margin_is_the_policys_clock_tolerance_not_a_constant():
    resumed = SwitchChange(True, T + timedelta(minutes=8), by_spyagency=False)
    assert shared_switch_step(PAUSE_386925, picture(resumed), MARGIN).taken_over_at is not None
    assert shared_switch_step(PAUSE_386925, picture(resumed), timedelta(minutes=10)).taken_over_at is None


def test_the_steering_reason_lists_each_run_it_looked_at():
    from spyagency.core.models import LineRun
    from spyagency.core.steering import desired_switch
    from spyagency.policy import load_policy

    policy = load_policy()
    lock = T + timedelta(minutes=30)
    line = [LineRun(386925, True, lock, T, ("all in",)), LineRun(386926, False, lock + timedelta(hours=1), T, ("x",)),
            LineRun(386927, False, None, T, ())]
    decision = desired_switch(line, {}, policy, T)
    assert decision.action == RESUME and decision.run == 386926
    assert decision.reason == ("run 386925 is ready; run 386926 is not ready but its lock is not near "
                               "(pause from 2026-11-24 12:30 UTC)")


def test_a_verdict_steering_cannot_stand_on_is_named_and_its_limits_are_inclusive():
    from spyagency.core.models import LineRun
    from spyagency.core.steering import desired_switch
    from spyagency.policy import load_policy

    policy = load_policy()
    lock = T + timedelta(minutes=30)  # inside the pause window

    def decide(decided_at: datetime | None) -> tuple[str, str]:
        decision = desired_switch([LineRun(386925, True, lock, decided_at, ("all in",))], {}, policy, T)
        return decision.action, decision.reason

    assert decide(T - policy.sources.stale_after) == (RESUME, "run 386925 is ready")  # exactly at the limit
    assert decide(T + policy.sources.clock_tolerance) == (RESUME, "run 386925 is ready")
    assert decide(None) == (PAUSE, "run 386925 is not ready 60 min before its lock: it has not been decided yet")
    assert decide(T - policy.sources.stale_after - timedelta(seconds=1)) == (
        PAUSE, "run 386925 is not ready 60 min before its lock: it has a stale verdict (decided 2026-11-24 11:44 UTC)")
    assert decide(T + policy.sources.clock_tolerance + timedelta(seconds=1)) == (
        PAUSE, "run 386925 is not ready 60 min before its lock: it has a verdict from the future "
               "(2026-11-24 12:05 UTC): a clock is wrong")
    assert desired_switch([], {}, policy, T) == SteeringDecision(RESUME, None, "no run is waiting for release")


def test_the_line_stops_at_a_running_run_passes_overrides_and_pauses_from_the_margin_on():
    from spyagency.core.models import LineRun
    from spyagency.core.models import ResumeOverride as Override
    from spyagency.core.steering import WAIT, desired_switch
    from spyagency.policy import load_policy

    policy = load_policy()
    lock = T + policy.deadlines.pause_before_lock  # so that T is exactly when pausing starts
    running = [LineRun(386925, True, lock, T, ()), LineRun(386926, False, None, T, ("still taking data",))]
    assert desired_switch(running, {}, policy, T) == SteeringDecision(
        RESUME, 386926, "run 386925 is ready; run 386926 is still running (no lock time yet)")
    blocked = [LineRun(386925, False, lock, T, ("SiPixelAli: vetoed",)),
               LineRun(386926, False, lock, T, ("SiStripGains: missing",))]
    assert desired_switch(blocked, {}, policy, T) == SteeringDecision(
        PAUSE, 386925, "run 386925 is not ready 60 min before its lock: SiPixelAli: vetoed")
    assert desired_switch(blocked, {}, policy, T - timedelta(seconds=1)).action == RESUME
    overridden = desired_switch(blocked, {386925: Override("bob", "release it", T)}, policy, T)
    assert overridden.action == PAUSE and overridden.run == 386926
    assert overridden.reason == "run 386926 is not ready 60 min before its lock: SiStripGains: missing"
    both = desired_switch(blocked, {386925: Override("bob", "release it", T), 386926: Override("ann", "go", T)},
                          policy, T)
    assert both.action == RESUME and both.reason == (
        "run 386925 is not ready, but operator bob overrode at 2026-11-24 12:00 UTC: release it; "
        "run 386926 is not ready, but operator ann overrode at 2026-11-24 12:00 UTC: go")
    one = [LineRun(386925, False, lock, T, ("x",), ("the Tier0 Data Service",))]
    assert desired_switch(one, {}, policy, T) == SteeringDecision(
        WAIT, 386925, "run 386925 is not ready near its lock, but the Tier0 Data Service has not looked at it "
                      "yet: no pause rests on a source that has not seen the run")
    two = [LineRun(386925, False, lock, T, ("x",), ("the Tier0 Data Service", "the DQM GUI"))]
    assert "the Tier0 Data Service and the DQM GUI have not looked" in desired_switch(two, {}, policy, T).reason


def test_a_line_of_ready_runs_resumes_for_the_first_of_them_and_a_reasonless_run_is_not_ready():
    from spyagency.core.models import LineRun
    from spyagency.core.steering import desired_switch
    from spyagency.policy import load_policy

    policy = load_policy()
    lock = T + policy.deadlines.pause_before_lock
    ready = [LineRun(386925, True, lock, T, ()), LineRun(386926, True, lock, T, ())]
    assert desired_switch(ready, {}, policy, T) == SteeringDecision(
        RESUME, 386925, "run 386925 is ready; run 386926 is ready")
    silent = [LineRun(386925, False, lock, T, ())]
    assert desired_switch(silent, {}, policy, T).reason == "run 386925 is not ready 60 min before its lock: not ready"


def test_waiting_and_standing_still_say_why():
    from spyagency.core.steering import WAIT

    wait = SteeringDecision(WAIT, 386925, "the DQM GUI has not looked at run 386925 yet")
    step = shared_switch_step(wait, picture(None, last=None), MARGIN)
    assert step.action is None and step.note == "the DQM GUI has not looked at run 386925 yet"
    still = shared_switch_step(PAUSE_386925, picture(SwitchChange(False, T, by_spyagency=True), seen=True), MARGIN)
    assert still.action is None and still.note == "the switch already is as SpyAgency wants it"
