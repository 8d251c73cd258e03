"""The plausibility rules on values: why a reading is not believed, and that a plausible one is."""

from __future__ import annotations

import math

import pytest

from spyagency.core.plausibility import MAX_RUN, configuration_shrank, count_problem, fcsr_problem


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
