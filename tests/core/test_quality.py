"""The quality watch's rules, without servers: scores of watched numbers against their history, in
the words experts use; a missing number is unknown; a gate is done only when read, judged and normal."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from simulator.quality import Anomaly, QualitySeason
from spyagency.core.models import AttributedUpload, Attribution, Upload, WorkflowState
from spyagency.core.quality import QualityStatus, chi2_survival, normal_equivalent, score_run
from spyagency.core.upload_quality import current_iovs, upload_values
from spyagency.policy import PolicyError, QualityWatch, load_policy, parse_policy

from ..conftest import START
from ..support.watches import policy_in_mode, watch_of

H = timedelta(hours=1)


def test_an_unusual_alignment_is_flagged_and_named_in_the_experts_words():
    policy = load_policy()
    season = QualitySeason(policy, seed=3)
    history = [season.values(run, "SiPixelAli") for run in range(1000, 1040)]
    moved = season.values(1040, "SiPixelAli")
    moved["Δθx of BPIX(x+)"] += 8 * season.spread("SiPixelAli", "Δθx of BPIX(x+)")
    moved["ΔX of BPIX(x+)"] -= 6 * season.spread("SiPixelAli", "ΔX of BPIX(x+)")
    score = score_run("SiPixelAli", watch_of(policy), moved, history)
    assert score.status is QualityStatus.UNUSUAL and score.group == "BPIX(x+)"
    assert score.drivers[0].name == "Δθx of BPIX(x+)" and score.drivers[0].z > 5  # 8 σ, judged on 40 runs
    assert "Δθx of BPIX(x+) at" in score.summary and "µrad" in score.summary and "above the median" in score.summary
    assert "of the last 40 runs" in score.summary
    normal = score_run("SiPixelAli", watch_of(policy), season.values(1040, "SiPixelAli"), history)
    assert normal.status is QualityStatus.NORMAL and normal.summary.startswith("quality normal")


def test_a_slow_drift_is_followed_not_flagged():
    policy = load_policy()
    season = QualitySeason(policy, seed=5, drift_sigma=3.0, drift_runs=300)
    history: list[dict[str, float]] = []
    flagged = 0
    for run in range(2000, 2300):
        values = season.values(run, "SiStripGains")
        flagged += score_run("SiStripGains", watch_of(policy, "SiStripGains"), values, history).status \
            is QualityStatus.UNUSUAL
        history.append(values)
    assert flagged <= 3  # ±3 σ of drift over 300 runs, 300 clean runs: (nearly) no flag


def test_missing_numbers_are_unknown_and_too_little_history_is_not_judged():
    policy = load_policy()
    season = QualitySeason(policy)
    history = [season.values(run, "SiPixelAli") for run in range(1, 30)]
    partial = season.values(30, "SiPixelAli")
    del partial["ΔZ of FPIX(x-,z+)"]
    unknown = score_run("SiPixelAli", watch_of(policy), partial, history)
    assert unknown.status is QualityStatus.UNKNOWN and "ΔZ of FPIX(x-,z+)" in unknown.summary
    assert score_run("SiPixelAli", watch_of(policy), None, history).status is QualityStatus.UNKNOWN
    few = score_run("SiPixelAli", watch_of(policy), season.values(30, "SiPixelAli"), history[:4])
    assert few.status is QualityStatus.NOT_JUDGED and "only 4 earlier run(s)" in few.summary


def test_the_chance_probability_matches_known_chi2_quantiles():
    for x, df in ((3.841, 1), (5.991, 2), (12.592, 6), (15.507, 8)):
        assert chi2_survival(x, df) == pytest.approx(0.05, abs=2e-4)


@settings(max_examples=200, deadline=None)
@given(missing=st.integers(min_value=0, max_value=35), history=st.integers(min_value=0, max_value=30),
       shift=st.floats(min_value=0, max_value=20))
def test_a_gated_output_is_done_only_when_read_judged_and_normal(missing, history, shift):
    """Property: under a gate, a workflow is released only with every number read, enough history,
    and a normal score; anything else waits for an expert."""
    from spyagency.core.models import RunInfo, RunObservations, Source
    from spyagency.core.readiness import _judged

    policy = policy_in_mode("gate")
    wf = policy.workflow("SiPixelAli")
    season = QualitySeason(policy, seed=11)
    past = [season.values(run, "SiPixelAli") for run in range(history)]
    values = season.values(99, "SiPixelAli")
    values["Δθz of BPIX(x-)"] += shift * season.spread("SiPixelAli", "Δθz of BPIX(x-)")
    for name in list(values)[:missing]:
        del values[name]
    score = score_run("SiPixelAli", watch_of(policy), values, past)
    observations = RunObservations(RunInfo(99, START, START), None, {}, {}, {}, quality={"SiPixelAli": score})
    state, reason, _source = _judged(wf, observations, WorkflowState.UPLOADED, "payload in", Source.CONDDB)
    event(f"quality {score.status.value}")
    if state is WorkflowState.UPLOADED:
        assert missing == 0 and history >= 10 and score.status is QualityStatus.NORMAL
    else:
        assert state is WorkflowState.NEEDS_REVIEW and reason.startswith("uploaded, needs review")


@given(t=st.floats(min_value=0.0, max_value=50.0), dof=st.integers(min_value=1, max_value=500))
def test_scores_from_short_histories_count_for_less(t, dof):
    """A t from few runs is never worth more than the same t from many, and never more than itself."""
    z = normal_equivalent(t, dof)
    assert 0.0 <= z <= t + 1e-9
    assert z <= normal_equivalent(t, dof + 1) + 1e-9
    assert normal_equivalent(-t, dof) == -z


def _false_and_true_flags(watch, season: QualitySeason, workflow: str, bad_run: int) -> tuple[int, bool]:  # type: ignore[no-untyped-def]
    history: list[dict[str, float]] = []
    false_flags, caught = 0, False
    for run in range(1000, 1600):
        values = season.values(run, workflow)
        unusual = score_run(workflow, watch, values, history).status is QualityStatus.UNUSUAL
        if run == bad_run:
            caught = unusual
            continue
        false_flags += unusual
        history.append(values)
    return false_flags, caught


def test_numbers_that_share_their_noise_cry_wolf_less_with_the_covariance_model():
    """Where the multivariate model helps: strip layers that move together by chance are not an anomaly."""
    policy = load_policy()
    anomaly = Anomaly(1500, "SiStripHitEff", "TOB efficiency", 8.0, 4)
    season = QualitySeason(policy, seed=5, anomalies={1500: anomaly}, correlation=0.6)
    independent = watch_of(policy, "SiStripHitEff")
    covariance = independent.model_copy(update={"model": "covariance"})
    alarms, caught = _false_and_true_flags(independent, season, "SiStripHitEff", 1500)
    fewer, caught_too = _false_and_true_flags(covariance, season, "SiStripHitEff", 1500)
    assert caught and caught_too
    assert alarms >= 3 and fewer <= alarms // 3, (alarms, fewer)


def test_the_covariance_model_without_scikit_learn_is_refused_with_the_fix(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "sklearn" else real(name, *a))
    text = resources.files("spyagency.policy").joinpath("default.toml").read_text()
    with pytest.raises(PolicyError, match=r"spyagency\[ml\]"):
        parse_policy(text.replace('mode = "advisory"', 'mode = "advisory"\nmodel = "covariance"', 1), "test")


def test_only_the_runs_own_newest_iovs_are_measured():
    """An IOV the upload service moved onto this run may be an earlier run's late payload: it is not this
    run's output. Of two uploads at one since (an expert's re-upload), prompt reco reads the newer."""
    at = START

    def iov(since: int, digest: str, minutes: int, whose: Attribution = Attribution.OWN) -> AttributedUpload:
        return AttributedUpload(Upload("T", since, 387000, digest, at + timedelta(minutes=minutes)), whose, "")

    own = [iov(387000, "old", 0), iov(387000, "new", 30), iov(387001, "late", 5, Attribution.LANDED)]
    assert [u.payload_hash for u in current_iovs(own)] == ["new"]
    watch = watch_of(load_policy(), "SiStripBadChannel")
    assert upload_values(watch, current_iovs(own), {"new": 4096, "old": 10}) == {"size of the bad-strip list": 4096}
    assert upload_values(watch, current_iovs(own), {"old": 10}) is None  # a size not read is unknown
    assert upload_values(watch, [], {}) is None


@pytest.mark.parametrize("change, error", [
    ({"uploads": [{"label": "size"}]}, "exactly one"),
    ({"features": []}, "exactly one"),
    ({"dataset": None}, "give dataset"),
])
def test_a_quality_watch_reads_one_source_and_says_so(change, error):
    watch = watch_of(load_policy(), "SiStripGains").model_dump()
    watch.update(change)
    with pytest.raises(ValueError, match=error):
        QualityWatch.model_validate({k: v for k, v in watch.items() if v is not None})
