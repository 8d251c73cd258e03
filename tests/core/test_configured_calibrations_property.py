"""Property: a run waits for every PCL producer Tier0 configured for it, known to the policy or not.

Express configurations are drawn from the production lists of ../shared/reference/CMS.md
(collisions, cosmics, heavy ions, HLT monitoring) plus ``PromptCalibProd*`` names no policy
knows. Each configured producer is then in, still missing, or acknowledged by an expert. The
expected answer is stated from the specification: ready only if every configured producer that
feeds prompt reco is in or acknowledged. How often ready is reached, and how often an unknown
producer is drawn, is counted and printed; the shares must stay useful.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hypothesis import event, given, settings
from hypothesis import strategies as st

from spyagency.core.models import AckKind, Acknowledgement, RunInfo, RunObservations, Tier0Run
from spyagency.core.readiness import decide_run

from .test_readiness import FRESH, NOW, POLICY, RUN, T0, upload

H = timedelta(hours=1)
#: alca_skim lists of the production express streams (CMS.md), PCL producers only
STREAMS = {
    "Express": ["PromptCalibProd", "PromptCalibProdSiStrip", "PromptCalibProdSiPixelAli",
                "PromptCalibProdSiStripGains", "PromptCalibProdSiStripGainsAAG", "PromptCalibProdSiPixel",
                "PromptCalibProdSiPixelLA", "PromptCalibProdSiStripHitEff", "PromptCalibProdSiPixelAliHG",
                "PromptCalibProdSiPixelAliHGComb"],
    "ExpressAlignment": ["PromptCalibProdBeamSpotHP"],
    "ALCALumiPixelsCountsExpress": ["PromptCalibProdLumiPCC"],
    "ALCAPPSExpress": ["PromptCalibProdPPSTimingCalib", "PromptCalibProdPPSAlignment"],
    "Calibration": ["PromptCalibProdEcalPedestals"],
    "HLTMonitor": ["PromptCalibProdSiPixelAliHLTHGC"],
    "ExpressCosmics": ["PromptCalibProdSiStrip", "PromptCalibProdSiPixelLAMCS", "PromptCalibProdSiStripLA"],
    "HIExpress": ["PromptCalibProd", "PromptCalibProdSiStrip", "PromptCalibProdSiPixelAli",
                  "PromptCalibProdSiStripGains", "PromptCalibProdSiStripGainsAAG", "PromptCalibProdSiPixel"],
}
NON_PCL = ["SiStripPCLHistos", "TkAlMinBias", "SiPixelCalZeroBias", "AlCaPCCRandom"]
UNKNOWN = ["PromptCalibProdNewThing", "PromptCalibProdSiPixelAliHGDiMu", "PromptCalibProdHcalSomething"]
#: what the built-in policy says a run does not wait for: HLT calibrations, and the legacy beam spot (shown only)
NOT_WAITED = {"PromptCalibProdSiPixelAliHLTHGC", "PromptCalibProdSiPixelAliHG", "PromptCalibProd"}
FATES = ("in", "missing", "accepted")
REACHED: Counter[str] = Counter()


@st.composite
def configurations(draw: st.DrawFn) -> tuple[dict[str, frozenset[str]], dict[str, str]]:
    """An express configuration (stream → producers) and each configured producer's fate."""
    streams = draw(st.lists(st.sampled_from(sorted(STREAMS)), min_size=1, max_size=4, unique=True))
    config: dict[str, frozenset[str]] = {}
    for stream in streams:
        pcl = draw(st.lists(st.sampled_from(STREAMS[stream]), max_size=len(STREAMS[stream]), unique=True))
        extra = draw(st.lists(st.sampled_from(UNKNOWN), max_size=1))
        config[stream] = frozenset(pcl + extra + draw(st.lists(st.sampled_from(NON_PCL), max_size=2)))
    producers = sorted({p for names in config.values() for p in names if p.startswith("PromptCalibProd")})
    # most producers in, so that both answers are reached often
    fates = {p: draw(st.sampled_from(FATES[:1] * 6 + FATES[1:])) for p in producers}
    return config, fates


@settings(max_examples=400, deadline=None)
@given(configurations())
def test_a_run_is_ready_only_when_every_configured_producer_is_in_or_acknowledged(
        drawn: tuple[dict[str, frozenset[str]], dict[str, str]]) -> None:
    config, fates = drawn
    uploads, acks = {}, {}
    for producer, fate in fates.items():
        for wf in POLICY.workflows_of(producer):
            if fate == "in":
                uploads[wf.tag] = (upload(wf.tag),)
        name = producer if producer not in POLICY.known_producers else None
        targets = [name] if name else [wf.name for wf in POLICY.workflows_of(producer)]
        for target in targets:
            if fate == "accepted" or (fate == "in" and name):  # an unknown producer is "in" only by an expert's word
                acks[target] = Acknowledgement(RUN, target, AckKind.ACCEPT_WITHOUT_PAYLOAD, "expert", "ok", NOW - H)
    tier0 = Tier0Run(RUN, True, "Run2026D", config, {s: True for s in config}, NOW,
                     configuration_since=NOW - H)
    obs = RunObservations(RunInfo(RUN, NOW - 30 * H, NOW - 10 * H), tier0, uploads, {}, acks)
    verdict = decide_run(obs, POLICY, T0, FRESH, NOW)

    waited = {p: f for p, f in fates.items() if p not in NOT_WAITED}
    expected = all(f in ("in", "accepted") for f in waited.values())
    has_unknown = any(p in UNKNOWN for p in fates)
    REACHED["examples"] += 1
    REACHED["ready"] += verdict.release
    REACHED["unknown producer drawn"] += has_unknown
    event("ready" if verdict.release else "not ready")
    assert verdict.release == expected, (config, fates, verdict.reasons)
    reasons = " ".join(verdict.reasons)
    assert "all 0 " not in reasons  # never "all 0 calibrations are in"
    if not fates:
        assert "no prompt calibration is configured for this run" in reasons
    if verdict.release and any(f == "accepted" for f in waited.values()):
        assert "acknowledged by expert" in reasons and "are in" not in reasons
    for producer in fates:
        if producer in UNKNOWN and fates[producer] == "missing":
            assert any(producer in reason for reason in verdict.reasons)


def test_the_property_reaches_ready_and_unknown_producers_often() -> None:
    test_a_run_is_ready_only_when_every_configured_producer_is_in_or_acknowledged()
    total = REACHED["examples"]
    ready, unknown = REACHED["ready"] / total, REACHED["unknown producer drawn"] / total
    print(f"\n{total} express configurations: ready in {ready:.0%}, an unknown producer in {unknown:.0%}")
    assert ready >= 1 / 3 and unknown >= 0.2
