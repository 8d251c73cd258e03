"""Landing forecasts of pending calibrations, as pure rules: Kaplan-Meier over recent latencies, the band,
backlogs, the give-up, and the two stages (express, then harvest)."""

from __future__ import annotations

from datetime import datetime, timedelta

from spyagency.core.forecast import forecast, forecast_staged, survival

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
EXPRESS = [(timedelta(hours=h), True) for h in (2.8, 3.0, 3.1, 2.9, 3.2, 3.0, 2.7, 3.3, 3.0, 3.1)]
HARVEST = [(timedelta(hours=h), True) for h in (0.8, 1.0, 1.1, 0.9, 1.2, 1.0, 0.9, 1.1, 1.0, 1.0)]
LANDING = [(e + h, True) for (e, _x), (h, _y) in zip(EXPRESS, HARVEST, strict=True)]


def test_once_the_express_is_done_only_the_harvest_is_left_to_forecast():
    """A run whose express finished late (a Tier0 backlog) lands a harvest after it, not at the usual hour."""
    late_express = STOP + 10 * H
    guess = forecast_staged(1, "SiStripGains", STOP, STOP + 10.2 * H, late_express, EXPRESS, HARVEST, LANDING,
                            GIVE_UP, LOCK)
    assert guess.landing is not None and late_express + 0.9 * H <= guess.landing <= late_express + 1.1 * H
    assert guess.high is not None and guess.high <= late_express + 1.3 * H
    assert "express done 2026-06-01 22:00 UTC" in guess.reason
    # the one-stage forecast only knows that the run is later than every landing it has seen
    assert forecast(1, "SiStripGains", STOP, STOP + 10.2 * H, LANDING, GIVE_UP, LOCK).landing is None


def test_while_the_express_is_pending_its_wait_and_the_harvest_add_up():
    guess = forecast_staged(1, "SiStripGains", STOP, STOP + H, None, EXPRESS, HARVEST, LANDING, GIVE_UP, LOCK)
    assert guess.landing is not None and STOP + 3.7 * H <= guess.landing <= STOP + 4.3 * H
    assert guess.high is not None and guess.landing < guess.high <= STOP + 4.8 * H
    assert "express pending" in guess.reason
    # Tier0 stuck: runs still waiting for their express make the wait longer before any of them lands
    stuck = [(12 * H, False)] * 10
    later = forecast_staged(1, "SiStripGains", STOP, STOP + 3.5 * H, None, EXPRESS + stuck, HARVEST,
                            LANDING + stuck, GIVE_UP, LOCK)
    assert later.high is None  # beyond the history: the band stays open upward


def test_too_little_staged_history_falls_back_to_the_one_stage_forecast():
    staged = forecast_staged(1, "SiStripGains", STOP, STOP + H, None, EXPRESS[:3], HARVEST[:3], LANDING,
                             GIVE_UP, LOCK)
    assert staged == forecast(1, "SiStripGains", STOP, STOP + H, LANDING, GIVE_UP, LOCK)
