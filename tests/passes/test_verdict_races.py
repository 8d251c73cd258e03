"""A verdict is never saved over facts newer than the ones it was made from."""

from __future__ import annotations

from datetime import UTC, timedelta

from simulator.scenario import SimRun, all_streams
from spyagency.core.models import AckKind, RunState
from spyagency.passes.decide import decide_all
from spyagency.people.acknowledge import acknowledge
from spyagency.store.queries import get_run

from ..conftest import START

H = timedelta(hours=1)


def test_a_hold_committed_while_a_poll_decides_is_not_overwritten(world_factory, policy, store_url, monkeypatch):
    world = world_factory([SimRun(386925, START - 12 * H, START - 8 * H, all_streams(policy))], store_url=store_url)
    assert world.at(timedelta(0))[386925].state is RunState.READY
    held = []

    def expert_holds_meanwhile() -> None:
        # the poll cycle has read its observations (ready); now an expert's hold commits and is decided
        _ack, verdict = acknowledge(world.store, policy, run=386925, workflow="SiStripGains", kind=AckKind.HOLD,
                                    author="alca", comment="gains look odd", now=world.clock.now())
        held.append(verdict)

    import spyagency.passes.decide as decide_pass

    real_save = decide_pass.save_verdicts

    def save_after_the_hold(*args):  # type: ignore[no-untyped-def]
        decide_pass.save_verdicts = real_save  # one shot: the expert's own decision saves as usual
        expert_holds_meanwhile()  # between this pass's read and its save
        return real_save(*args)

    monkeypatch.setattr(decide_pass, "save_verdicts", save_after_the_hold)
    world.sim.advance(world.clock.now())
    stale = decide_all(world.store, policy, world.clock.now())
    assert held and held[0] is not None and not held[0].release
    assert stale.verdicts[0].release  # the pass in flight still thought the run ready …
    with world.store.session() as session:  # … but the stored answer (what the release API serves) is the hold's
        answer = get_run(session, 386925)
    assert answer is not None and answer.release is False and answer.state == "not_ready"


def test_a_hold_stops_the_release_at_once_even_when_a_poll_changes_the_runs_facts_before_its_re_decision(
        world_factory, policy, store_url, monkeypatch):
    world = world_factory([SimRun(386925, START - 12 * H, START - 8 * H, all_streams(policy))], store_url=store_url)
    assert world.at(timedelta(0))[386925].release
    import spyagency.passes.decide as decide_pass
    from spyagency.store.observations import bump_facts

    real_scores = decide_pass.quality_scores

    def a_poll_writes_meanwhile(session, *args):  # type: ignore[no-untyped-def]
        decide_pass.quality_scores = real_scores  # one shot
        with world.store.session() as other:  # a poll records new facts of the run, in its own transaction
            bump_facts(other, [386925])
        return real_scores(session, *args)

    monkeypatch.setattr(decide_pass, "quality_scores", a_poll_writes_meanwhile)
    _ack, _verdict = acknowledge(world.store, policy, run=386925, workflow="SiStripGains", kind=AckKind.HOLD,
                                 author="alca", comment="gains look odd", now=world.clock.now())
    with world.store.session() as session:  # the hold counts from its own commit, and its re-decision, tried
        answer = get_run(session, 386925)  # again once the poll's write made the first one stale, is saved
    assert answer is not None and answer.release is False
    assert answer.reasons[0].startswith("SiStripGains: held by alca at ")


def test_an_accept_is_in_the_release_answer_before_it_returns_even_when_polls_change_the_runs_facts_meanwhile(
        world_factory, policy, store_url, monkeypatch):
    from simulator.scenario import Outcome

    world = world_factory([SimRun(386925, START - 12 * H, START - 8 * H, all_streams(policy),
                                  {"SiPixelAli": Outcome.VETOED})], store_url=store_url)
    assert not world.at(timedelta(0))[386925].release  # only the vetoed alignment keeps it back
    import spyagency.passes.decide as decide_pass
    from spyagency.store.observations import bump_facts

    real_scores = decide_pass.quality_scores
    polls = {"left": 2}  # two polls write the run's facts while the accept's re-decision reads them

    def a_poll_writes_meanwhile(session, *args):  # type: ignore[no-untyped-def]
        if polls["left"]:
            polls["left"] -= 1
            with world.store.session() as other:
                bump_facts(other, [386925])
        return real_scores(session, *args)

    monkeypatch.setattr(decide_pass, "quality_scores", a_poll_writes_meanwhile)
    _ack, verdict = acknowledge(world.store, policy, run=386925, workflow="SiPixelAli",
                                kind=AckKind.ACCEPT_WITHOUT_PAYLOAD, author="alca", comment="vetoed on purpose",
                                now=world.clock.now())
    assert polls["left"] == 0 and verdict is not None and verdict.release
    with world.store.session() as session:  # what the release API serves, as soon as the accept returned
        answer = get_run(session, 386925)
    assert answer is not None and answer.release is True


def test_a_decision_stamped_in_the_future_is_never_a_release():
    from datetime import datetime

    from spyagency.core.models import RunSummary
    from spyagency.core.release import release_answer

    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

    def summary(decided_at: datetime) -> RunSummary:
        return RunSummary(386925, "ready", True, ("all 13 applicable calibrations are in",), now - 20 * H,
                          now - 10 * H, now + 30 * H, now + 38 * H, decided_at, "Run2026D", ())

    assert release_answer(summary(now - timedelta(minutes=1)), now, timedelta(minutes=15)).release
    assert release_answer(summary(now + timedelta(minutes=1)), now, timedelta(minutes=15)).release  # small skew
    ahead = release_answer(summary(now + 3 * H), now, timedelta(minutes=15))  # a poller clock 3 h ahead
    assert not ahead.release and "stamped in the future" in ahead.reasons[0]


def test_a_verdict_the_store_saved_long_ago_is_stale_whatever_the_api_clock_says(world_factory, policy, store_url):
    """The API host's clock lags (or the poller's runs ahead): only the database's own clock can tell."""
    import asyncio

    from sqlalchemy import text

    from spyagency.core.release import release_answer
    from spyagency.store.release_reader import release_reader

    world = world_factory([SimRun(386925, START - 12 * H, START - 8 * H, all_streams(policy))], store_url=store_url)
    assert world.at(timedelta(0))[386925].release
    reader = release_reader(store_url)
    loop = asyncio.new_event_loop()  # one loop: the PostgreSQL reader's pool belongs to it

    def answer():
        summary = loop.run_until_complete(reader.facts(386925))
        # the API's clock sits at the decision time: by the hosts' clocks the verdict looks brand new
        return release_answer(summary, world.clock.now(), policy.sources.stale_after)

    try:
        assert answer().release
        with world.store.session() as session:  # the poller died 20 minutes ago, by the database's clock
            session.execute(text("UPDATE runs SET saved_at = saved_at - INTERVAL '20 minutes'")
                            if store_url.startswith("postgresql") else
                            text("UPDATE runs SET saved_at = datetime(saved_at, '-20 minutes')"))
        stale = answer()
        assert not stale.release
        assert stale.reasons[0].startswith("decision is stale: saved 20 min ago by the store's own clock")
    finally:
        loop.run_until_complete(reader.close())
        loop.close()


def test_the_release_answer_at_its_boundaries_says_exactly_why_not():
    """What Tier0 reads: release is True or False (never null), the limits are inclusive, the reason first."""
    from dataclasses import replace
    from datetime import datetime

    from spyagency.core.models import RunSummary
    from spyagency.core.release import FUTURE_TOLERANCE, release_answer

    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    limit = timedelta(minutes=15)
    ready = RunSummary(386925, "ready", True, ("all 13 applicable calibrations are in",), now - 20 * H,
                       now - 10 * H, now + 30 * H, now + 38 * H, now - limit, "Run2026D", (), saved_age_s=900.0)
    at_limits = release_answer(ready, now, limit)
    assert at_limits.release is True and at_limits.reasons == ready.reasons  # 15 min old by both clocks
    assert at_limits.deadline == ready.lock_time and at_limits.decided_at == ready.decided_at
    assert release_answer(replace(ready, decided_at=now + FUTURE_TOLERANCE), now, limit).release is True

    old = release_answer(replace(ready, decided_at=now - limit - timedelta(seconds=1)), now, limit)
    assert old.release is False and old.state == "ready"
    assert old.reasons == ("decision is stale (made 2026-11-24T11:44:59+00:00): SpyAgency's poller is not running",
                           *ready.reasons)
    never = release_answer(replace(ready, decided_at=None), now, limit)
    assert never.release is False and never.reasons[0].startswith("decision is stale (made never)")
    assert release_answer(replace(ready, saved_age_s=900.5), now, limit).release is False
    saved_long_ago = release_answer(replace(ready, saved_age_s=3600.0), now, limit)
    assert saved_long_ago.release is False
    assert saved_long_ago.reasons[0] == ("decision is stale: saved 60 min ago by the store's own clock, whatever "
                                         "the hosts' clocks say: SpyAgency's poller is not running")
    ahead = release_answer(replace(ready, decided_at=now + FUTURE_TOLERANCE + timedelta(seconds=1)), now, limit)
    assert ahead.release is False and ahead.reasons[0] == (
        "decision is stamped in the future (2026-11-24T12:02:01+00:00): a clock is wrong, so its freshness "
        "cannot be trusted")
    blocked = release_answer(replace(ready, release=False, state="not_ready"), now, limit)
    assert blocked.release is False and blocked.reasons == ready.reasons


def test_a_run_is_final_once_locked_and_released_or_watched_long_enough_after_its_lock():
    from datetime import UTC, datetime, timedelta

    from spyagency.core.finalize import is_final
    from spyagency.core.models import RunState, RunVerdict
    from spyagency.policy import load_policy

    policy = load_policy()
    lock = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

    def verdict(run: int, state: RunState, at: datetime) -> RunVerdict:
        return RunVerdict(run=run, state=state, release=state is RunState.RELEASED, reasons=(), lock_time=lock,
                          release_time=lock, workflows=(), decided_at=at)

    assert is_final(verdict(386925, RunState.RELEASED, lock), 386926, policy)
    assert not is_final(verdict(386926, RunState.RELEASED, lock), 386926, policy)  # fcsr itself is not locked
    assert not is_final(verdict(386925, RunState.RELEASED, lock), None, policy)
    watched = lock + policy.deadlines.late_watch
    assert is_final(verdict(386925, RunState.OVERDUE, watched), 386926, policy)  # from that very moment
    assert not is_final(verdict(386925, RunState.OVERDUE, watched - timedelta(seconds=1)), 386926, policy)
