"""Lumi-packed since values, as CondDB lumi-based tags store them."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spyagency.core.since import pack_lumi, run_of_since, run_range, unpack_lumi


def test_known_value_from_the_cms_conddb():
    assert pack_lumi(386925, 1) == 1661830221004801
    assert unpack_lumi(1661830221004801) == (386925, 1)


@given(st.integers(1, 9_999_999), st.integers(0, 2**32 - 1))
def test_pack_and_unpack_round_trip(run, lumi):
    since = pack_lumi(run, lumi)
    assert unpack_lumi(since) == (run, lumi)
    low, high = run_range(run, "Lumi")
    assert low <= since < high
    assert run_of_since(since, "lumi") == run


def test_run_tags_use_the_run_number():
    assert run_of_since(386925, "Run") == 386925
    assert run_range(386925, "run") == (386925, 386926)


@pytest.mark.parametrize("run,lumi", [(-1, 1), (1, -1), (1, 2**32)])
def test_out_of_range_values_are_refused(run, lumi):
    with pytest.raises(ValueError):
        pack_lumi(run, lumi)


def test_time_tags_have_no_run():
    with pytest.raises(ValueError, match="Time"):
        run_of_since(1, "Time")
