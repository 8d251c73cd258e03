"""Landing forecasts of pending calibrations, and the at-risk warning they raise once."""

from __future__ import annotations

from datetime import datetime, timedelta

from spyagency.decide.forecast import forecast, survival
from spyagency.models import OutboxAction
from spyagency.simulator.scenario import Outcome, SimRun, all_streams

from .conftest import START

H = timedelta(hours=1)
GIVE_UP, LOCK = 18 * H, 47.5 * H
STOP = datetime(2026, 6, 1, 12, 0)


def test_kaplan_meier_counts_pending_runs_as_at_least_that_late():
    curve = survival([(2 * H, True), (4 * H, True), (3 * H, False), (6 * H, True)])
    # at 2 h one of four landed; the one pending at 3 h leaves the risk set; 4 h: 1 of 2; 6 h: the last
    assert curve == [(2.0, 0.75), (4.0, 0.375), (6.0, 0.0)]


def test_a_normal_calibration_is_forecast_within_its_history():
    history = [(timedelta(hours=h), True) for h in (3.5, 4.0, 4.2, 3.8, 4.5, 4.1, 3.9, 4.4, 4.0, 4.3)]
    guess = forecast(1, "SiStripGains", STOP, STOP + H, history, GIVE_UP, LOCK)
    assert guess.landing is not None and STOP + 3.8 * H <= guess.landing <= STOP + 4.3 * H
    assert guess.low is not None and guess.high is not None and guess.low <= guess.landing <= guess.high
    assert not guess.at_risk and "expected 2026-06-01 16:" in guess.reason


def test_the_band_runs_from_now_to_the_comparable_landings_and_stays_open_when_a_pending_run_outlasted_them():
    history = [(timedelta(minutes=180 + 6 * i), True) for i in range(20)]  # 3.0, 3.1, ... 4.9 h
    fresh = forecast(1, "SiStripGains", STOP, STOP + 0.5 * H, history, GIVE_UP, LOCK)
    # it may land any moment: the band starts now, not at the 5th percentile (3.0 h)
    assert (fresh.low, fresh.high) == (STOP + 0.5 * H, STOP + 4.8 * H)
    waited = forecast(1, "SiStripGains", STOP, STOP + 3.95 * H, history, GIVE_UP, LOCK)
    # comparable: the ten landings later than the 3.95 h already waited (4.0 ... 4.9 h)
    assert (waited.low, waited.high) == (STOP + 3.95 * H, STOP + 4.9 * H)
    pending = forecast(1, "SiStripGains", STOP, STOP + 3.95 * H, [*history, (9 * H, False)], GIVE_UP, LOCK)
    assert pending.high is None and "beyond the history" in pending.reason


def test_a_backlog_seen_in_pending_runs_puts_a_run_at_risk_before_any_of_them_lands():
    landed = [(timedelta(hours=h), True) for h in (4.0, 4.2, 3.9, 4.1, 4.3, 3.8)]
    # the four runs before this one are all still pending 20-26 h after their stops: a Tier0 backlog
    backlog = [(timedelta(hours=h), False) for h in (26, 24, 22, 20)]
    guess = forecast(2, "SiPixelAli", STOP, STOP + 19 * H, landed + backlog, GIVE_UP, LOCK)
    assert guess.at_risk and guess.landing is None and "later than every recent landing" in guess.reason
    assert "a typical 4.2 h from now is after the PCL give-up" in guess.reason
    early = forecast(2, "SiPixelAli", STOP, STOP + 5 * H, landed + backlog, GIVE_UP, LOCK)
    assert not early.at_risk and "no forecast yet" in early.reason  # late, but the give-up is far
    no_backlog = forecast(2, "SiPixelAli", STOP, STOP + 2 * H, landed, GIVE_UP, LOCK)
    assert not no_backlog.at_risk


def test_a_forecast_after_the_give_up_is_at_risk_and_says_so():
    slow = [(timedelta(hours=h), True) for h in (20, 22, 21, 23, 25, 19, 24)]
    guess = forecast(3, "EcalPedestals", STOP, STOP + H, slow, GIVE_UP, LOCK)
    assert guess.at_risk and "after the PCL give-up 2026-06-02 06:00 UTC" in guess.reason


def test_too_little_history_gives_no_forecast_and_no_alarm():
    guess = forecast(4, "LumiPCC", STOP, STOP + H, [(4 * H, True)] * 3, GIVE_UP, LOCK)
    assert guess.landing is None and not guess.at_risk and "only 3 recent landing(s)" in guess.reason


def test_a_run_whose_calibration_is_overdue_against_history_is_warned_once_and_shown(world_factory, policy):
    from spyagency.store.outbox import pending_entries

    runs = [SimRun(386900 + i, START - (30 - 2 * i) * H, START - (29 - 2 * i) * H, all_streams(policy),
                   harvest_lag=H) for i in range(8)]
    # the last run's strip gains never come: by the others' history it is soon later than any of them
    runs.append(SimRun(386910, START - 17 * H, START - 16 * H, all_streams(policy), {"SiStripGains": Outcome.MISSING},
                       harvest_lag=H))
    world = world_factory(runs)
    world.at(timedelta(0))
    assert world.agency.warn(send=lambda entry: None) >= 1
    with world.store.session() as session:
        sent = [e for e in pending_entries(session, (OutboxAction.AT_RISK.value,))]
    assert sent == []  # delivered
    with world.store.session() as session:
        from spyagency.store.outbox import entries_of_run
        at_risk = entries_of_run(session, 386910, (OutboxAction.AT_RISK.value,))
    assert [e.idempotency_key for e in at_risk] == ["at-risk-386910"]
    assert at_risk[0].reason.startswith("run 386910 is at risk: SiStripGains: later than every recent landing")
    world.at(timedelta(minutes=10))
    world.agency.warn(send=lambda entry: None)
    with world.store.session() as session:
        assert len(entries_of_run(session, 386910, (OutboxAction.AT_RISK.value,))) == 1  # once
