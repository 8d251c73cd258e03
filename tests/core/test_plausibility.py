"""The plausibility rules on values: why a reading is not believed, and that a plausible one is."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from spyagency.core.plausibility import (
    MAX_RUN,
    believed_stop,
    configuration_doubt,
    configuration_shrank,
    configuration_since,
    count_problem,
    dqm_doubt,
    fcsr_problem,
)

STOP = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
GAP = 5 * MINUTE
ONE = {"Express": ["PromptCalibProd"]}
TWO = {"Express": ["PromptCalibProd"], "ExpressAlignment": ["PromptCalibProdSiPixelAli"]}


def test_a_plausible_fcsr_is_believed_up_to_the_highest_run_known_plus_one():
    assert fcsr_problem(386930, 386925, 386940) is None
    assert fcsr_problem(386925, 386925, 386940) is None  # standing still is what a paused Tier0 does
    assert fcsr_problem(386941, 386925, 386940) is None  # every run known is locked
    assert fcsr_problem(386930, None, None) is None  # nothing known yet: only the range is judged
    assert fcsr_problem(1, None, None) is None and fcsr_problem(MAX_RUN, None, None) is None


def test_an_fcsr_past_the_highest_run_known_plus_one_is_not_believed():
    said = fcsr_problem(386942, 386925, 386940)
    assert said == ("firstconditionsaferun answered 386942, past the highest run known (386940) + 1: "
                    "this reading is not believed")
    assert fcsr_problem(9_999_999, None, 386940) is not None


def test_an_fcsr_that_moves_down_is_not_believed():
    assert fcsr_problem(386924, 386925, 386940) == (
        "firstconditionsaferun answered 386924, below the 386925 it answered before: it only moves up, "
        "so this reading is not believed")
    assert fcsr_problem(386924, 386925, None) is not None


@pytest.mark.parametrize("reading", [0, -386925, MAX_RUN + 1, 10**20])
def test_an_fcsr_that_is_not_a_run_number_is_not_believed(reading):
    assert fcsr_problem(reading, None, None) == f"firstconditionsaferun answered {reading}, which is not a run number"


def test_a_count_is_finite_and_not_negative():
    assert count_problem(0.0) is None and count_problem(1.0) is None and count_problem(1e9) is None
    assert count_problem(math.nan) == "nan is not a count"
    assert count_problem(math.inf) == "inf is not a count" and count_problem(-math.inf) == "-inf is not a count"
    assert count_problem(-1.0) == "-1 is negative, not a count"
    assert count_problem(-1e-9) == "-1e-09 is negative, not a count"


def test_an_express_configuration_may_grow_but_never_shrink():
    before = {"Express": ["PromptCalibProdSiStrip", "TkAlMinBias"], "Calibration": ["PromptCalibProdEcalPedestals"]}
    assert configuration_shrank(before, before) is None
    assert configuration_shrank({}, before) is None
    grown = {**before, "Express": [*before["Express"], "PromptCalibProdNew"], "HLTMonitor": []}
    assert configuration_shrank(before, grown) is None
    assert configuration_shrank(before, {"Express": before["Express"]}) == (
        "lists no stream Calibration, which it listed before: a partial answer (a transfer backlog or a cached "
        "reply), not believed")
    assert configuration_shrank(before, {}) is not None
    assert configuration_shrank(before, {**before, "Express": ["TkAlMinBias"]}) == (
        "lists fewer producers in Express than before: a partial answer, not believed")


def test_every_stream_lost_or_thinned_is_named():
    before = {"Express": ["PromptCalibProdSiStrip"], "Calibration": ["PromptCalibProdEcalPedestals"],
              "ExpressAlignment": ["PromptCalibProdBeamSpotHP"]}
    assert configuration_shrank(before, {"Express": ["PromptCalibProdSiStrip"]}) == (
        "lists no stream Calibration, ExpressAlignment, which it listed before: a partial answer (a transfer "
        "backlog or a cached reply), not believed")
    assert configuration_shrank(before, {"Express": [], "Calibration": [], "ExpressAlignment": []}) == (
        "lists fewer producers in Calibration, Express, ExpressAlignment than before: a partial answer, not believed")


def test_a_configuration_is_dated_from_its_first_read_after_the_stop_and_a_change_dates_it_again():
    assert configuration_since(None, {}, ONE, STOP - MINUTE, STOP) is None  # read while the run took data
    assert configuration_since(None, {}, ONE, STOP + MINUTE, None) is None  # no stop known
    assert configuration_since(None, {}, ONE, STOP, STOP) is None  # at the stop's very instant: not after it
    first = configuration_since(None, ONE, ONE, STOP + MINUTE, STOP)
    assert first == STOP + MINUTE  # the same as before the stop, but the first read after it
    assert configuration_since(first, ONE, {"Express": ("PromptCalibProd",)}, STOP + 9 * MINUTE, STOP) == first
    assert configuration_since(first, ONE, TWO, STOP + 9 * MINUTE, STOP) == STOP + 9 * MINUTE  # it grew


def test_a_configuration_is_believed_only_once_two_reads_far_enough_apart_agree():
    assert "has not been read since the run stopped" in (configuration_doubt(7, None, STOP, GAP) or "")
    said = configuration_doubt(7, STOP, STOP + 4 * MINUTE, GAP)
    assert said is not None and "read once since the run stopped" in said and "from 2026-11-22 12:05" in said
    assert configuration_doubt(7, STOP, STOP + GAP, GAP) is None
    assert configuration_doubt(7, STOP, STOP, timedelta(0)) is None  # a gap of 0 believes the first read


def test_a_stop_time_never_moves_later_and_one_ahead_of_the_clock_is_now():
    now = STOP + 2 * MINUTE
    assert believed_stop(None, None, now) is None
    assert believed_stop(None, STOP, now) == STOP
    assert believed_stop(STOP, STOP + 30 * MINUTE, now) == STOP  # a jump ahead keeps the earlier lock
    assert believed_stop(STOP, STOP - 30 * MINUTE, now) == STOP - 30 * MINUTE  # moving back: the earlier lock
    assert believed_stop(STOP, None, now) == STOP  # a reading that lost its stop
    assert believed_stop(None, now + 2 * MINUTE, now) == now  # ahead of our clock beyond the tolerance
    assert believed_stop(None, now + MINUTE, now) == now + MINUTE  # within it: clocks differ that much


def test_a_no_payload_by_design_is_believed_once_a_read_far_enough_after_the_first_agrees():
    assert dqm_doubt(None, STOP, GAP) == "read once; believed when a later read agrees"
    assert dqm_doubt(STOP, STOP + 4 * MINUTE, GAP) == ("read once at 2026-11-22 12:00 UTC; believed when a read "
                                                       "from 2026-11-22 12:05 UTC on agrees")
    assert dqm_doubt(STOP, STOP + GAP, GAP) is None
    assert dqm_doubt(STOP, STOP, timedelta(0)) is None  # a gap of 0 believes the first read
