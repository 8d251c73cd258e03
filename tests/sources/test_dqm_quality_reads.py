"""The DQM GUI's quality numbers as the client reads them: MillePede bins, histogram means, ladder
spreads, and JSROOT objects computed as ROOT computes them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from spyagency.policy import load_policy
from spyagency.sources.dqm import feature_values
from spyagency.sources.errors import DqmProtocolError
from spyagency.sources.jsroot import hist_from_jsroot

from ..support.watches import watch_of

H = timedelta(hours=1)


def test_the_client_reads_millepede_bins_and_histogram_means():
    watch = watch_of(load_policy())
    xpos = {"type": "TH1F", "bins": {"content": [1.5, -2.0, 0.25, 4.0, -1.0, 0.5] + [0.0] * 30}}
    assert feature_values(xpos, watch.features[0]) == [1.5, -2.0, 0.25, 4.0, -1.0, 0.5]
    gains = watch_of(load_policy(), "SiStripGains")
    mpv = {"type": "TH1D", "stats": {"mean": {"X": {"value": 301.2, "error": 0.1}}}, "bins": {"content": []}}
    assert feature_values(mpv, gains.features[0]) == [301.2]
    for junk in ({"bins": {"content": [1.0]}}, {"bins": {"content": ["x"] * 36}}, {"stats": {}}):
        with pytest.raises(DqmProtocolError):
            feature_values(junk, watch.features[0] if "bins" in junk else gains.features[0])


def test_the_client_reads_a_structures_mean_movement_and_its_spread_over_ladders():
    """MillePede's high-granularity histograms hold one movement per ladder (or panel): their mean and
    spread are the watched numbers."""
    watch = watch_of(load_policy(), "SiPixelAliHGComb")
    mean_x, spread_x = watch.features[0], watch.features[1]
    assert mean_x.histogram == spread_x.histogram == "AlCaReco/SiPixelAliHGCombined/Xpos_HG_Layer1"
    ladders = {"type": "TH1F", "bins": {"content": [2.0, 4.0, 0.0, 6.0]}}
    assert feature_values(ladders, mean_x) == [3.0]
    assert feature_values(ladders, spread_x) == [pytest.approx(5 ** 0.5)]
    for junk in ({"bins": {"content": []}}, {"bins": {"content": [1.0, None]}}, {"bins": {}}):
        with pytest.raises(DqmProtocolError):
            feature_values(junk, mean_x)


def _jsroot_th1(**overrides: object) -> dict[str, object]:
    obj: dict[str, object] = {
        "_typename": "TH1F", "fName": "h_diffLA", "fTitle": "difference in μH",
        "fXaxis": {"_typename": "TAxis", "fNbins": 3, "fLabels": None},
        "fTsumw": 4.0, "fTsumwx": 4.0, "fTsumwx2": 8.0, "fArray": [0.0, 1.0, 2.0, 1.0, 0.0]}
    return {**obj, **overrides}


def test_a_jsroot_histogram_reads_as_root_computes_it():
    hist = hist_from_jsroot(_jsroot_th1(), "h_diffLA")
    assert hist["bins"]["content"] == [1.0, 2.0, 1.0]
    assert hist["stats"]["mean"]["X"]["value"] == 1.0 and hist["stats"]["rms"]["X"]["value"] == 1.0
    la = watch_of(load_policy(), "SiPixelLorentzAngle")
    assert [feature_values(hist, feature) for feature in la.features] == [[1.0], [1.0]]
    labelled = hist_from_jsroot(_jsroot_th1(fXaxis={"fNbins": 3, "fLabels": {"_typename": "THashList", "arr": [
        {"_typename": "TObjString", "fUniqueID": 2, "fString": "DB update vetoed"}]}}), "statusResults")
    assert [label["value"] for label in labelled["xaxis"]["labels"]] == ["", "DB update vetoed", ""]
    two_d = hist_from_jsroot(_jsroot_th1(_typename="TH2F", fYaxis={"fNbins": 1},
                                         fArray=[0.0] * 5 + [0.0, 1.0, 0.0, 1.0, 0.0] + [0.0] * 5), "statusResults")
    assert two_d["bins"]["content"] == [[1.0, 0.0, 1.0]]


@pytest.mark.parametrize("junk", [
    [], {"fName": "no type"}, _jsroot_th1(_typename="TGraph"), _jsroot_th1(fArray=[1.0, 2.0]),
    _jsroot_th1(fXaxis={"fNbins": 0}), _jsroot_th1(fTsumw="x"), _jsroot_th1(fArray=[0.0, "NaN", 1.0, 1.0, 0.0]),
    _jsroot_th1(fXaxis={"fNbins": 3, "fLabels": {"arr": [{"fUniqueID": 9, "fString": "x"}]}}),
    _jsroot_th1(fTsumwx=float("inf")), _jsroot_th1(_typename="TH2F", fYaxis=3),
])
def test_a_malformed_jsroot_object_is_a_protocol_error(junk):
    with pytest.raises(DqmProtocolError):
        hist_from_jsroot(junk, "h")
