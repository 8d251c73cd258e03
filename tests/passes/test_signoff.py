"""Expert sign-off: which runs are put to the experts, and how an answer becomes acknowledgements."""

from datetime import timedelta

import pytest

from simulator.scenario import Outcome, SimRun, all_streams
from spyagency.people.acknowledge import AcknowledgementError
from spyagency.people.signoff import SignOffRequest, record_signoff, signoff_requests

from ..conftest import START

H = timedelta(hours=1)


@pytest.fixture
def world(world_factory, policy):
    runs = [SimRun(386925, START - 12 * H, START - 8 * H, all_streams(policy), {"SiPixelAli": Outcome.VETOED}),
            SimRun(386926, START - 11 * H, START - 7 * H, all_streams(policy))]
    return world_factory(runs)


def test_only_runs_near_their_lock_blocked_by_an_expert_matter_are_asked(world, policy):
    world.at(timedelta(0))
    assert signoff_requests(world.store, policy, world.clock.now()) == []  # 39.5 h from its lock
    world.at(34 * H)
    [request] = signoff_requests(world.store, policy, world.clock.now())
    assert request.run == 386925 and list(request.workflows) == ["SiPixelAli"]
    assert request.workflows["SiPixelAli"][0] == "vetoed"
    assert SignOffRequest.from_json(request.as_json()) == request
    assert signoff_requests(world.store, policy, world.clock.now())[0].key == request.key  # same question


def test_an_answer_is_recorded_as_the_experts_acknowledgement_and_releases_the_run(world, policy):
    world.at(34 * H)
    [request] = signoff_requests(world.store, policy, world.clock.now())
    result = record_signoff(world.store, policy, request, "Accept without payload", "alca-expert",
                            "alignment stable, vetoed on purpose", world.clock.now())
    assert result.recorded == ("SiPixelAli",) and result.skipped == ()
    verdict = world.verdicts()[386925]
    assert verdict.release
    [pixel] = [w for w in verdict.workflows if w.workflow == "SiPixelAli"]
    assert "accepted without payload by alca-expert" in pixel.reason
    assert signoff_requests(world.store, policy, world.clock.now()) == []  # answered: not asked again


def test_an_accept_for_a_state_that_changed_since_the_question_records_nothing(world, policy):
    world.at(34 * H)
    [request] = signoff_requests(world.store, policy, world.clock.now())
    stale = SignOffRequest(request.run, request.lock_time, {"SiPixelAli": ("missing", "shown long ago")})
    result = record_signoff(world.store, policy, stale, "Accept", "alca-expert", "", world.clock.now())
    assert result.recorded == () and result.skipped == ("SiPixelAli",)
    assert not world.verdicts()[386925].release


def test_a_hold_is_always_recorded_and_needs_a_reason(world, policy):
    world.at(34 * H)
    [request] = signoff_requests(world.store, policy, world.clock.now())
    with pytest.raises(AcknowledgementError, match="needs a comment"):
        record_signoff(world.store, policy, request, "Hold", "alca-expert", "", world.clock.now())
    with pytest.raises(ValueError, match="not a sign-off answer"):
        record_signoff(world.store, policy, request, "Maybe", "alca-expert", "", world.clock.now())
    record_signoff(world.store, policy, request, "Hold", "alca-expert", "re-check the alignment", world.clock.now())
    assert signoff_requests(world.store, policy, world.clock.now()) == []  # held: nothing left to ask
