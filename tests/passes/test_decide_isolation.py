"""One run whose data makes its decision raise: that run is not ready and says why, with its lock time kept;
the error never reaches the other runs' decisions. Pure, fast: the mutation run's check of the isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from spyagency.core.models import RunInfo, RunObservations, RunState, Source, SourceHealth, Tier0Global
from spyagency.passes.one_run import decide_one
from spyagency.policy import load_policy

POLICY = load_policy()
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
FRESH = {s: SourceHealth(s, NOW - timedelta(minutes=1)) for s in (Source.TIER0, Source.CONDDB, Source.DQM)}


def observations(run: int, tier0: object = None) -> RunObservations:
    return RunObservations(RunInfo(run, NOW - 12 * H, NOW - 10 * H), tier0, {}, {}, {})  # type: ignore[arg-type]


def test_a_run_whose_decision_raises_is_not_ready_says_why_and_keeps_its_lock_time():
    broken = observations(386929, tier0="not a Tier0 reading")  # any attribute read on it raises
    verdict = decide_one(broken, POLICY, Tier0Global(386900, True, NOW), FRESH, NOW)
    assert verdict.run == 386929 and verdict.state is RunState.NOT_READY and not verdict.release
    assert verdict.reasons[0].startswith("SpyAgency could not decide run 386929: AttributeError: ")
    stop = NOW - 10 * H
    assert verdict.lock_time == stop + POLICY.deadlines.reco_delay - POLICY.deadlines.lock_offset
    assert verdict.release_time == stop + POLICY.deadlines.reco_delay
    assert verdict.decided_at == NOW and verdict.workflows == ()


def test_a_run_whose_decision_works_is_decided_as_ever():
    verdict = decide_one(observations(386930), POLICY, Tier0Global(386900, True, NOW), FRESH, NOW)
    assert verdict.state is RunState.NOT_READY
    assert not verdict.reasons[0].startswith("SpyAgency could not decide")
    assert verdict.workflows  # a real decision: every workflow judged


def test_a_long_error_is_cut_to_200_characters_in_the_reason(monkeypatch):
    import spyagency.passes.one_run as deciding

    def explode(*_args: object) -> None:
        raise ValueError("x" * 500)

    monkeypatch.setattr(deciding, "decide_run", explode)
    verdict = decide_one(observations(386929), POLICY, Tier0Global(386900, True, NOW), FRESH, NOW)
    assert verdict.reasons == ("SpyAgency could not decide run 386929: ValueError: " + "x" * 200,)
