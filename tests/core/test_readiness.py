"""The pure readiness decision: each workflow state, acknowledgements, and a safety property."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from spyagency.core.models import (
    AckKind,
    Acknowledgement,
    AttributedUpload,
    Attribution,
    DqmCheck,
    DqmOutcome,
    RunInfo,
    RunObservations,
    RunState,
    Source,
    SourceHealth,
    Tier0Global,
    Tier0Run,
    Upload,
    WorkflowState,
)
from spyagency.core.readiness import decide_run
from spyagency.policy import load_policy

from ..support.production import COLLISION, COSMICS

POLICY = load_policy()
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
RUN = 386925
FRESH = {s: SourceHealth(s, NOW - timedelta(minutes=1)) for s in (Source.TIER0, Source.CONDDB, Source.DQM)}
#: a configuration read after the stop and confirmed by a read more than five minutes later
CONFIRMED = NOW - 9 * H
T0 = Tier0Global(RUN, True, NOW)
#: Tier0's production express configuration of a collision run (../shared/reference/CMS.md), stream → alca_skim
COLLISION_ALCA_SKIMS = COLLISION
COSMICS_ALCA_SKIMS = COSMICS
ALL_PRODUCERS = {s: frozenset(skim.split(",")) for s, skim in COLLISION_ALCA_SKIMS.items()}
#: the workflows a collision run waits for
COLLISION_WORKFLOWS = [wf.name for wf in POLICY.workflows if any(wf.producer in p for p in ALL_PRODUCERS.values())]


def streams_of(producer: str, producers=None) -> list[str]:
    return [s for s, names in (producers or ALL_PRODUCERS).items() if producer in names]


def tier0(done: bool = True, producers=None) -> Tier0Run:
    producers = ALL_PRODUCERS if producers is None else producers
    return Tier0Run(RUN, True, "Run2026D", producers, {s: done for s in producers}, NOW, configuration_since=CONFIRMED)


def upload(tag: str, since_run: int = RUN, attribution: Attribution = Attribution.OWN) -> AttributedUpload:
    wf = POLICY.tags[tag]
    since = since_run << 32 | 1 if wf.time_type == "lumi" else since_run
    earlier = RUN if since_run > RUN else None
    return AttributedUpload(Upload(tag, since, since_run, "a" * 40, NOW - 2 * H), attribution, "test", earlier)


def all_uploads(skip: str | None = None) -> dict[str, tuple[AttributedUpload, ...]]:
    return {wf.tag: (upload(wf.tag),) for wf in POLICY.workflows if wf.name != skip}


def observe(stop_hours_ago: float | None = 10, uploads=None, dqm=None, acks=None, t0=None,
            landed_later=None) -> RunObservations:
    stop = NOW - stop_hours_ago * H if stop_hours_ago is not None else None
    return RunObservations(RunInfo(RUN, NOW - 30 * H, stop), t0 or tier0(),
                           all_uploads() if uploads is None else uploads, dqm or {}, acks or {},
                           landed_later=landed_later or {})


def state_of(verdict, name):
    return next(w for w in verdict.workflows if w.workflow == name)


def test_every_payload_in_makes_the_run_ready():
    verdict = decide_run(observe(), POLICY, T0, FRESH, NOW)
    assert verdict.state is RunState.READY and verdict.release
    assert verdict.lock_time == NOW - 10 * H + 48 * H - timedelta(minutes=30)


def test_a_running_run_waits_for_express():
    verdict = decide_run(observe(None, uploads={}), POLICY, T0, FRESH, NOW)
    assert verdict.state is RunState.NOT_READY
    assert state_of(verdict, "SiStripGains").state is WorkflowState.WAITING_EXPRESS


def test_express_not_done_waits_until_the_harvest_fallback():
    obs = observe(2, uploads=all_uploads(skip="SiStripGains"), t0=tier0(done=False))
    assert state_of(decide_run(obs, POLICY, T0, FRESH, NOW), "SiStripGains").state is WorkflowState.WAITING_EXPRESS
    obs = observe(13, uploads=all_uploads(skip="SiStripGains"), t0=tier0(done=False))
    assert state_of(decide_run(obs, POLICY, T0, FRESH, NOW), "SiStripGains").state is WorkflowState.HARVESTING


def test_missing_after_give_up_blocks_but_lumi_pcc_may_proceed():
    verdict = decide_run(observe(20, uploads=all_uploads(skip="SiStripGains")), POLICY, T0, FRESH, NOW)
    assert state_of(verdict, "SiStripGains").state is WorkflowState.MISSING
    assert not verdict.release
    verdict = decide_run(observe(20, uploads=all_uploads(skip="LumiPCC")), POLICY, T0, FRESH, NOW)
    pcc = state_of(verdict, "LumiPCC")
    assert pcc.state is WorkflowState.MISSING and pcc.done and "proceeds" in pcc.reason
    assert verdict.release


def test_a_producer_not_configured_for_the_run_is_not_applicable():
    producers = {s: p for s, p in ALL_PRODUCERS.items() if s != "ALCAPPSExpress"}
    uploads = {t: u for t, u in all_uploads().items() if "CTPPS" not in t}
    verdict = decide_run(observe(uploads=uploads, t0=tier0(producers=producers)), POLICY, T0, FRESH, NOW)
    assert state_of(verdict, "PPSAlignment").state is WorkflowState.NOT_APPLICABLE
    assert verdict.release


def test_hold_blocks_an_uploaded_workflow_and_a_later_accept_releases():
    hold = Acknowledgement(RUN, "SiStripGains", AckKind.HOLD, "alcaexpert", "gains look odd", NOW - H)
    verdict = decide_run(observe(acks={"SiStripGains": hold}), POLICY, T0, FRESH, NOW)
    assert state_of(verdict, "SiStripGains").state is WorkflowState.HELD and not verdict.release
    assert "gains look odd" in state_of(verdict, "SiStripGains").reason


def test_accept_without_payload_covers_a_vetoed_alignment():
    dqm = {"SiPixelAli": DqmCheck(RUN, "SiPixelAli", DqmOutcome.VETOED, "'DB update vetoed' set", NOW)}
    obs = observe(uploads=all_uploads(skip="SiPixelAli"), dqm=dqm)
    assert state_of(decide_run(obs, POLICY, T0, FRESH, NOW), "SiPixelAli").state is WorkflowState.VETOED
    ack = Acknowledgement(RUN, "SiPixelAli", AckKind.ACCEPT_WITHOUT_PAYLOAD, "expert", "large movement ok", NOW)
    obs = observe(uploads=all_uploads(skip="SiPixelAli"), dqm=dqm, acks={"SiPixelAli": ack})
    verdict = decide_run(obs, POLICY, T0, FRESH, NOW)
    assert state_of(verdict, "SiPixelAli").state is WorkflowState.ACKNOWLEDGED
    assert verdict.state is RunState.READY


def test_a_payload_landed_on_a_later_run_is_late_not_uploaded():
    tag = "SiStripApvGain_PCL_v0_prompt"
    later = {tag: (upload(tag, since_run=RUN + 3, attribution=Attribution.LANDED),)}
    verdict = decide_run(observe(40, uploads=all_uploads(skip="SiStripGains"), landed_later=later),
                         POLICY, T0, FRESH, NOW)
    assert state_of(verdict, "SiStripGains").state is WorkflowState.LATE
    assert "landed late on run 386928" in state_of(verdict, "SiStripGains").reason
    assert not verdict.release


def test_an_ambiguous_payload_is_not_the_runs_own_until_an_expert_says_so():
    uploads = all_uploads(skip="SiStripGains")
    uploads["SiStripApvGain_PCL_v0_prompt"] = (upload("SiStripApvGain_PCL_v0_prompt",
                                                      attribution=Attribution.AMBIGUOUS),)
    verdict = decide_run(observe(uploads=uploads), POLICY, T0, FRESH, NOW)
    gains = state_of(verdict, "SiStripGains")
    assert gains.state is WorkflowState.AMBIGUOUS and not gains.done and not verdict.release
    assert "may belong to run 386925 or to an earlier, locked run" in gains.reason
    ack = Acknowledgement(RUN, "SiStripGains", AckKind.ACCEPT, "expert", "it is 386925's own", NOW)
    verdict = decide_run(observe(uploads=uploads, acks={"SiStripGains": ack}), POLICY, T0, FRESH, NOW)
    assert state_of(verdict, "SiStripGains").state is WorkflowState.ACKNOWLEDGED and verdict.release


def test_a_per_run_tier0_fault_keeps_only_that_run_not_ready_and_says_why():
    faulty = Tier0Run(RUN, True, "Run2026D", ALL_PRODUCERS, {s: True for s in ALL_PRODUCERS}, NOW,
                      error="GET run_stream_done answered HTTP 500")
    verdict = decide_run(observe(t0=faulty), POLICY, T0, FRESH, NOW)
    assert not verdict.release
    assert verdict.reasons[0] == "Tier0 Data Service failed for run 386925: GET run_stream_done answered HTTP 500"


def test_lock_time_passed_without_readiness_is_overdue():
    verdict = decide_run(observe(48, uploads=all_uploads(skip="SiStripGains")), POLICY, T0, FRESH, NOW)
    assert verdict.state is RunState.OVERDUE and "overdue" in verdict.reasons[0]


def test_locked_by_tier0_with_everything_in_is_released():
    verdict = decide_run(observe(49), POLICY, Tier0Global(RUN + 1, True, NOW), FRESH, NOW)
    assert verdict.state is RunState.RELEASED and verdict.release


def test_missing_tag_in_conddb_is_unknown():
    obs = observe()
    obs = RunObservations(obs.info, obs.tier0, obs.uploads, obs.dqm, obs.acks,
                          frozenset({"SiStripApvGain_PCL_v0_prompt"}))
    verdict = decide_run(obs, POLICY, T0, FRESH, NOW)
    assert state_of(verdict, "SiStripGains").state is WorkflowState.UNKNOWN
    assert "not in the CondDB" in state_of(verdict, "SiStripGains").reason
    assert not verdict.release


def test_stale_and_failing_sources_are_not_trusted():
    stale = dict(FRESH, tier0=SourceHealth(Source.TIER0, NOW - 2 * H))
    stale = {Source(k) if isinstance(k, str) else k: v for k, v in stale.items()}
    verdict = decide_run(observe(), POLICY, T0, stale, NOW)
    assert not verdict.release and any("stale" in r for r in verdict.reasons)
    failing = dict(FRESH)
    failing[Source.CONDDB] = SourceHealth(Source.CONDDB, NOW, "database locked", NOW, failing=True)
    verdict = decide_run(observe(), POLICY, T0, failing, NOW)
    assert not verdict.release and any("database locked" in r for r in verdict.reasons)


def _dqm(outcome: DqmOutcome, detail: str = "from the status histogram") -> dict[str, DqmCheck]:
    return {"SiPixelAli": DqmCheck(RUN, "SiPixelAli", outcome, detail, NOW - H, CONFIRMED)}


def test_a_harvest_dqm_reports_failed_blocks_the_run_even_with_a_payload_in():
    # a payload in the tag does not outweigh the harvest's own report of failure
    with_payload = decide_run(observe(dqm=_dqm(DqmOutcome.FAILED, "'Pede failed' set")), POLICY, T0, FRESH, NOW)
    pixel = state_of(with_payload, "SiPixelAli")
    assert pixel.state is WorkflowState.FAILED and not pixel.done and pixel.source is Source.DQM
    assert "'Pede failed' set" in pixel.reason and not with_payload.release
    without = decide_run(observe(uploads=all_uploads(skip="SiPixelAli"), dqm=_dqm(DqmOutcome.FAILED)),
                         POLICY, T0, FRESH, NOW)
    assert state_of(without, "SiPixelAli").state is WorkflowState.FAILED and not without.release


def test_a_failed_harvest_is_released_only_by_an_experts_acceptance():
    acks = {"SiPixelAli": Acknowledgement(RUN, "SiPixelAli", AckKind.ACCEPT_WITHOUT_PAYLOAD, "expert",
                                          "previous alignment is fine", NOW)}
    verdict = decide_run(observe(uploads=all_uploads(skip="SiPixelAli"), dqm=_dqm(DqmOutcome.FAILED), acks=acks),
                         POLICY, T0, FRESH, NOW)
    assert state_of(verdict, "SiPixelAli").state is WorkflowState.ACKNOWLEDGED and verdict.release


def test_a_status_histogram_with_a_configured_failure_bin_classifies_failed_first():
    from spyagency.policy import DqmRule
    from spyagency.sources.dqm import classify

    rule = DqmRule(dataset="/StreamExpress/{era}-PromptCalibProdSiPixelAli-Express-v{version}/ALCAPROMPT",
                   histogram="AlCaReco/SiPixelAli/statusResults", updated_bin="DB updated",
                   vetoed_bin="DB update vetoed",
                   failed_bin="Pede failed")
    bins = {"DB updated": 1.0, "DB update vetoed": 1.0, "Pede failed": 1.0}
    assert classify(bins, rule)[0] is DqmOutcome.FAILED
    assert classify({**bins, "Pede failed": 0.0}, rule)[0] is DqmOutcome.VETOED


def test_stale_reasons_say_since_when_in_hours_and_minutes():
    late = {**FRESH, Source.TIER0: SourceHealth(Source.TIER0, NOW - timedelta(minutes=65))}
    verdict = decide_run(observe(), POLICY, T0, late, NOW)
    assert "Tier0 Data Service is stale: last answer 2026-11-22 10:55 UTC (1 h 5 min ago)" in verdict.reasons
    recent = {**FRESH, Source.CONDDB: SourceHealth(Source.CONDDB, NOW - timedelta(minutes=16))}
    verdict = decide_run(observe(), POLICY, T0, recent, NOW)
    assert "CondDB is stale: last answer 2026-11-22 11:44 UTC (16 min ago)" in verdict.reasons
    never = {s: h for s, h in FRESH.items() if s is not Source.TIER0}
    assert "Tier0 Data Service has not answered yet" in decide_run(observe(), POLICY, T0, never, NOW).reasons


def test_a_source_that_has_not_looked_is_awaited_only_while_it_may_still_look():
    """Awaited (no pause or warning rests on the run) if healthy or never polled; a stale or failing
    source is a fact, and the verdict stands on it."""
    base = observe(uploads=all_uploads(skip="SiStripGains"))
    unseen = RunObservations(base.info, None, base.uploads, {}, {}, unobserved_by=(Source.TIER0,))
    healths = {
        "fresh": (FRESH, (Source.TIER0,)),
        "never polled": ({s: h for s, h in FRESH.items() if s is not Source.TIER0}, (Source.TIER0,)),
        "polled, no answer yet": ({**FRESH, Source.TIER0: SourceHealth(Source.TIER0, None)}, (Source.TIER0,)),
        "stale": ({**FRESH, Source.TIER0: SourceHealth(Source.TIER0, NOW - 2 * H)}, ()),
        "failing": ({**FRESH, Source.TIER0: SourceHealth(Source.TIER0, NOW - H, "HTTP 500", NOW, failing=True)}, ()),
        "failing, never answered": (
            {**FRESH, Source.TIER0: SourceHealth(Source.TIER0, None, "HTTP 500", NOW, failing=True)}, ()),
    }
    for name, (health, awaited) in healths.items():
        verdict = decide_run(unseen, POLICY, T0, health, NOW)
        assert verdict.awaiting == awaited, name
        assert not verdict.release, name
    assert decide_run(observe(), POLICY, T0, FRESH, NOW).awaiting == ()  # seen by all: nothing awaited


def test_ages_in_reasons_switch_to_hours_at_one_hour():
    def reason(minutes: float) -> str:
        health = {**FRESH, Source.TIER0: SourceHealth(Source.TIER0, NOW - timedelta(minutes=minutes))}
        return next(r for r in decide_run(observe(), POLICY, T0, health, NOW).reasons if "is stale" in r)

    assert reason(59.9).endswith("(59 min ago)")
    assert reason(60).endswith("(1 h 0 min ago)")
    assert reason(120).endswith("(2 h 0 min ago)")


def test_reasons_name_the_payload_where_it_sits_and_when_it_came():
    verdict = decide_run(observe(), POLICY, T0, FRESH, NOW)
    gains = state_of(verdict, "SiStripGains")
    assert gains.reason == ("payload aaaaaaaaaaaa in SiStripApvGain_PCL_v0_prompt at since 386925, "
                            "inserted 2026-11-22 10:00 UTC")
    beam = state_of(verdict, "BeamSpotHPByLumi")
    assert beam.reason == (f"payload aaaaaaaaaaaa in BeamSpotObjects_PCL_byLumi_v0_prompt at since {RUN << 32 | 1} "
                           f"(run {RUN}, lumi 1), inserted 2026-11-22 10:00 UTC")


def test_a_failing_source_says_when_and_what():
    failing = {**FRESH, Source.CONDDB: SourceHealth(Source.CONDDB, NOW - H, "database locked", NOW - H, failing=True)}
    assert "CondDB failed at 2026-11-22 11:00 UTC: database locked" in decide_run(
        observe(), POLICY, T0, failing, NOW).reasons
    unknown_when = {**FRESH, Source.CONDDB: SourceHealth(Source.CONDDB, NOW - H, "database locked", None,
                                                         failing=True)}
    assert "CondDB failed at never: database locked" in decide_run(observe(), POLICY, T0, unknown_when, NOW).reasons


def test_the_verdict_carries_the_release_time_tier0_uses():
    verdict = decide_run(observe(), POLICY, T0, FRESH, NOW)
    assert verdict.release_time == NOW - 10 * H + 48 * H


def test_a_run_is_overdue_from_the_very_minute_of_its_lock():
    obs = observe(uploads=all_uploads(skip="SiStripGains"))
    lock = NOW - 10 * H + 48 * H - timedelta(minutes=30)
    at_lock = decide_run(obs, POLICY, T0, FRESH, lock)
    assert at_lock.state is RunState.OVERDUE
    assert at_lock.reasons[0] == f"overdue: lock time {lock:%Y-%m-%d %H:%M} UTC passed without every calibration"
    assert decide_run(obs, POLICY, T0, FRESH, lock - timedelta(seconds=1)).state is RunState.NOT_READY


def test_a_locked_run_without_a_stop_time_is_overdue_because_tier0_locked_it():
    obs = observe(None, uploads={})
    locked = Tier0Global(RUN + 1, True, NOW)
    verdict = decide_run(obs, POLICY, locked, FRESH, NOW)
    assert verdict.state is RunState.OVERDUE and verdict.lock_time is None
    assert verdict.reasons[0] == (f"overdue: Tier0 locked it (first conditions-safe run {RUN + 1}) "
                                  "without every calibration")


def test_a_ready_run_counts_its_applicable_calibrations_and_says_when_tier0_locked_it():
    producers = {s: frozenset(p for p in ps if p != "PromptCalibProdSiStripGains") for s, ps in ALL_PRODUCERS.items()}
    verdict = decide_run(observe(t0=tier0(producers=producers)), POLICY, Tier0Global(RUN + 1, True, NOW), FRESH, NOW)
    assert verdict.state is RunState.RELEASED
    hlt = POLICY.not_for_prompt_reason("PromptCalibProdSiPixelAliHLTHGC")
    assert verdict.reasons[0] == f"Tier0 has locked run {RUN} (first conditions-safe run is {RUN + 1})"
    assert verdict.reasons[1].startswith(f"all {len(COLLISION_WORKFLOWS) - 1} configured calibrations are in; "
                                         f"not waited for: ")
    assert f"PromptCalibProdSiPixelAliHLTHGC ({hlt})" in verdict.reasons[1]


def test_tier0_without_a_configuration_for_the_run_is_a_reason_in_words():
    verdict = decide_run(observe(t0=Tier0Run(RUN, False, None, {}, {}, NOW)), POLICY, T0, FRESH, NOW)
    assert f"Tier0 has no configuration for run {RUN}" in verdict.reasons
    assert state_of(verdict, "SiStripGains").reason == f"Tier0 Data Service has no configuration for run {RUN}"


def test_a_tier0_failure_for_one_run_makes_its_workflows_unknown_even_if_tier0_knows_it():
    failed = Tier0Run(RUN, True, "Run2026D", ALL_PRODUCERS, {s: True for s in ALL_PRODUCERS}, NOW, error="HTTP 500")
    verdict = decide_run(observe(t0=failed), POLICY, T0, FRESH, NOW)
    gains = state_of(verdict, "SiStripGains")
    assert gains.state is WorkflowState.UNKNOWN
    assert gains.reason == f"Tier0 Data Service failed for run {RUN}: HTTP 500"
    unseen = decide_run(RunObservations(RunInfo(RUN, NOW - 30 * H, NOW - 10 * H), None, all_uploads(), {}, {}),
                        POLICY, T0, FRESH, NOW)
    assert state_of(unseen, "SiStripGains").reason == f"Tier0 Data Service has not looked at run {RUN} yet"


def test_a_dqm_word_on_a_workflow_without_a_dqm_rule_is_ignored():
    failed = {"SiStripGains": DqmCheck(RUN, "SiStripGains", DqmOutcome.FAILED, "boom", NOW)}
    verdict = decide_run(observe(dqm=failed), POLICY, T0, FRESH, NOW)
    assert state_of(verdict, "SiStripGains").state is WorkflowState.UPLOADED and verdict.release


def test_a_workflow_the_policy_does_not_require_never_blocks_and_says_so():
    from importlib import resources

    from spyagency.policy import parse_policy

    text = resources.files("spyagency.policy").joinpath("default.toml").read_text()
    optional = parse_policy(text.replace('tag = "SiStripApvGain_PCL_v0_prompt"\n',
                                         'tag = "SiStripApvGain_PCL_v0_prompt"\nrequired = false\n', 1))
    verdict = decide_run(observe(uploads=all_uploads(skip="SiStripGains")), optional, T0, FRESH, NOW)
    gains = state_of(verdict, "SiStripGains")
    assert gains.done and gains.reason.endswith("(not required)") and verdict.state is RunState.READY
    uploaded = state_of(decide_run(observe(), optional, T0, FRESH, NOW), "SiStripGains")
    assert uploaded.done and not uploaded.reason.endswith("(not required)")


def test_an_acceptance_reads_who_when_and_how():
    when = NOW - H
    bare = {"SiStripGains": Acknowledgement(RUN, "SiStripGains", AckKind.ACCEPT, "alice", "", when)}
    verdict = decide_run(observe(20, uploads=all_uploads(skip="SiStripGains"), acks=bare), POLICY, T0, FRESH, NOW)
    gains = state_of(verdict, "SiStripGains")
    assert gains.reason.startswith(f"accepted as is by alice at {when:%Y-%m-%d %H:%M} UTC (was missing: ")
    assert verdict.reasons[0].startswith(f"every one of the {len(COLLISION_WORKFLOWS)} configured calibrations "
                                         f"is settled: {len(COLLISION_WORKFLOWS) - 1} in; 1 acknowledged by alice "
                                         f"(SiStripGains)")
    vetoed = {"SiPixelAli": Acknowledgement(RUN, "SiPixelAli", AckKind.ACCEPT_WITHOUT_PAYLOAD, "bob", "fine", when)}
    verdict = decide_run(observe(uploads=all_uploads(skip="SiPixelAli"), acks=vetoed), POLICY, T0, FRESH, NOW)
    assert state_of(verdict, "SiPixelAli").reason.startswith(
        f"accepted without payload by bob at {when:%Y-%m-%d %H:%M} UTC: fine (was ")


def test_an_accept_as_is_of_a_calibration_still_on_its_way_does_not_count():
    when = NOW - H
    for stop_ago, done, state in ((2, False, WorkflowState.WAITING_EXPRESS), (10, True, WorkflowState.HARVESTING)):
        accept = {"SiStripGains": Acknowledgement(RUN, "SiStripGains", AckKind.ACCEPT, "alice", "", when)}
        verdict = decide_run(observe(stop_ago, uploads=all_uploads(skip="SiStripGains"), acks=accept,
                                     t0=tier0(done=done)), POLICY, T0, FRESH, NOW)
        gains = state_of(verdict, "SiStripGains")
        assert gains.state is state and not gains.done and not verdict.release
        assert "the accept by alice" in gains.reason and "does not count" in gains.reason
        assert not any("are in" in reason for reason in verdict.reasons)
    without = {"SiStripGains": Acknowledgement(RUN, "SiStripGains", AckKind.ACCEPT_WITHOUT_PAYLOAD, "bob", "go", when)}
    verdict = decide_run(observe(10, uploads=all_uploads(skip="SiStripGains"), acks=without), POLICY, T0, FRESH, NOW)
    assert state_of(verdict, "SiStripGains").state is WorkflowState.ACKNOWLEDGED and verdict.release
    assert "acknowledged by bob" in verdict.reasons[0] and "are in" not in verdict.reasons[0]


def test_a_cosmics_run_waits_for_its_three_pcl_producers_and_not_for_collision_ones():
    cosmics = {s: frozenset(skim.split(",")) for s, skim in COSMICS_ALCA_SKIMS.items()}
    bad_channel = POLICY.workflow("SiStripBadChannel").tag
    uploads = {t: u for t, u in all_uploads().items() if t != bad_channel}
    verdict = decide_run(observe(10, uploads=uploads, t0=tier0(producers=cosmics)), POLICY, T0, FRESH, NOW)
    assert not verdict.release
    assert state_of(verdict, "SiStripBadChannel").state is WorkflowState.HARVESTING
    assert state_of(verdict, "SiStripGains").state is WorkflowState.NOT_APPLICABLE
    verdict = decide_run(observe(10, t0=tier0(producers=cosmics)), POLICY, T0, FRESH, NOW)
    assert verdict.release and verdict.reasons == ("all 3 configured calibrations are in",)


def test_a_producer_the_policy_does_not_know_blocks_the_run_until_acknowledged():
    producers = dict(ALL_PRODUCERS, Express=ALL_PRODUCERS["Express"] | {"PromptCalibProdNewThing"})
    verdict = decide_run(observe(t0=tier0(producers=producers)), POLICY, T0, FRESH, NOW)
    unknown = state_of(verdict, "PromptCalibProdNewThing")
    assert not verdict.release and unknown.state is WorkflowState.UNKNOWN and not unknown.done
    assert "express stream Express" in unknown.reason and "policy does not list it" in unknown.reason
    accept = {"PromptCalibProdNewThing": Acknowledgement(RUN, "PromptCalibProdNewThing", AckKind.ACCEPT, "carol",
                                                         "not used in prompt yet", NOW - H)}
    verdict = decide_run(observe(t0=tier0(producers=producers), acks=accept), POLICY, T0, FRESH, NOW)
    assert verdict.release and "acknowledged by carol (PromptCalibProdNewThing)" in verdict.reasons[0]


def test_a_run_without_any_pcl_producer_says_so_when_ready():
    producers = {"ExpressPhysics": frozenset({"TkAlMinBias"}), "HLTMonitor": frozenset()}
    verdict = decide_run(observe(t0=tier0(producers=producers)), POLICY, T0, FRESH, NOW)
    assert verdict.release
    assert verdict.reasons[0].startswith("no prompt calibration is configured for this run")


def test_dqm_not_having_looked_matters_only_when_a_workflow_waits_for_it():
    missing_tag = POLICY.workflow("EcalPedestals").tag
    obs = RunObservations(RunInfo(RUN, NOW - 30 * H, NOW - 10 * H), tier0(), all_uploads(), {}, {},
                          missing_tags=frozenset({missing_tag}), unobserved_by=(Source.DQM,))
    verdict = decide_run(obs, POLICY, T0, FRESH, NOW)
    assert state_of(verdict, "EcalPedestals").state is WorkflowState.UNKNOWN  # a CondDB fact, not DQM's
    assert verdict.awaiting == ()


def _gated(mode: str):  # type: ignore[no-untyped-def]
    from importlib import resources

    from spyagency.policy import parse_policy

    text = resources.files("spyagency.policy").joinpath("default.toml").read_text()
    return parse_policy(text.replace('mode = "advisory"', f'mode = "{mode}"'))


def _score(status: str):  # type: ignore[no-untyped-def]
    from spyagency.core.quality import FeatureScore, QualityScore, QualityStatus

    driver = FeatureScore("Δθx of BPIX(x+)", "BPIX(x+)", "µrad", 61.0, 3.0, 7.0, 8.3)
    return QualityScore("SiPixelAli", QualityStatus(status), 9.1 if status == "unusual" else 1.2, "BPIX(x+)",
                        (driver,), 50)


def test_the_quality_watch_adds_its_word_to_an_uploaded_workflow_and_a_gate_holds_an_unusual_one():
    def judged(mode: str, status: str | None):  # type: ignore[no-untyped-def]
        obs = observe()
        if status is not None:
            obs.quality["SiPixelAli"] = _score(status)
        return state_of(decide_run(obs, _gated(mode), T0, FRESH, NOW), "SiPixelAli")

    unread = judged("advisory", None)
    assert unread.state is WorkflowState.UPLOADED and "quality" not in unread.reason  # nothing said before reading
    flagged = judged("advisory", "unusual")
    assert flagged.state is WorkflowState.UPLOADED and flagged.done
    assert flagged.reason.endswith("; quality UNUSUAL (BPIX(x+) 9.1 σ): Δθx of BPIX(x+) at 61 µrad, 8.3 σ above "
                                   "the median 3 of the last 50 runs")
    held = judged("gate", "unusual")
    assert held.state is WorkflowState.NEEDS_REVIEW and not held.done
    assert held.reason.startswith("uploaded, needs review: quality UNUSUAL (BPIX(x+) 9.1 σ)")
    waiting = judged("gate", None)
    assert waiting.state is WorkflowState.NEEDS_REVIEW and waiting.reason.startswith(
        "uploaded, needs review: quality unknown: its DQM numbers have not been read yet (payload ")
    passed = judged("gate", "normal")
    assert passed.state is WorkflowState.UPLOADED and passed.done
    assert passed.reason.endswith("; quality normal (worst: BPIX(x+) 1.2 σ)")


def test_a_reupload_in_the_run_is_described_by_its_newest_payload():
    tag = POLICY.workflow("SiStripGains").tag
    first = AttributedUpload(Upload(tag, RUN, RUN, "1" * 40, NOW - 5 * H), Attribution.OWN, "test")
    again = AttributedUpload(Upload(tag, RUN, RUN, "2" * 40, NOW - 2 * H), Attribution.OWN, "test")
    for order in ((first, again), (again, first)):
        uploads = {**all_uploads(skip="SiStripGains"), tag: order}
        gains = state_of(decide_run(observe(uploads=uploads), POLICY, T0, FRESH, NOW), "SiStripGains")
        assert gains.reason.startswith("payload 222222222222 in SiStripApvGain_PCL_v0_prompt")


def test_the_quality_watch_judges_only_uploaded_outputs():
    obs = observe(2, uploads=all_uploads(skip="SiPixelAli"))  # its harvest is still running
    obs.quality["SiPixelAli"] = _score("unusual")
    pixel = state_of(decide_run(obs, _gated("gate"), T0, FRESH, NOW), "SiPixelAli")
    assert pixel.state is WorkflowState.HARVESTING and "quality" not in pixel.reason


def _fresh_at(moment: datetime) -> dict[Source, SourceHealth]:
    return {s: SourceHealth(s, moment - timedelta(minutes=1)) for s in (Source.TIER0, Source.CONDDB, Source.DQM)}


def _at(tag: str, hours_ago: float, kind: Attribution, since_run: int = RUN, why: str = "why") -> AttributedUpload:
    return AttributedUpload(Upload(tag, since_run, since_run, f"{int(hours_ago):x}" * 40, NOW - hours_ago * H), kind,
                            why, RUN - 1 if kind is Attribution.AMBIGUOUS else None)


def test_late_and_ambiguous_payloads_are_described_by_the_earliest_one():
    tag = POLICY.workflow("SiStripGains").tag
    for kind, state in ((Attribution.AFTER_LOCK, WorkflowState.LATE), (Attribution.AMBIGUOUS, WorkflowState.AMBIGUOUS)):
        early, later = _at(tag, 9, kind), _at(tag, 3, kind)
        for order in ((early, later), (later, early)):
            uploads = {**all_uploads(skip="SiStripGains"), tag: order}
            gains = state_of(decide_run(observe(uploads=uploads), POLICY, T0, FRESH, NOW), "SiStripGains")
            assert gains.state is state and gains.reason.startswith("payload 999999999999"), (kind, gains.reason)
    early, later = _at(tag, 9, Attribution.LANDED, RUN + 1), _at(tag, 3, Attribution.LANDED, RUN + 1)
    for order in ((early, later), (later, early)):
        obs = observe(uploads=all_uploads(skip="SiStripGains"), landed_later={tag: order})
        gains = state_of(decide_run(obs, POLICY, T0, FRESH, NOW), "SiStripGains")
        assert gains.state is WorkflowState.LATE and "(payload 999999999999" in gains.reason


def test_an_express_stream_tier0_says_nothing_about_is_not_done_until_the_harvest_fallback():
    producers = ALL_PRODUCERS
    silent = Tier0Run(RUN, True, "Run2026D", producers, {}, NOW, configuration_since=CONFIRMED)  # no word on any stream
    obs = observe(2, uploads=all_uploads(skip="SiStripGains"), t0=silent)
    gains = state_of(decide_run(obs, POLICY, T0, FRESH, NOW), "SiStripGains")
    fallback = NOW - 2 * H + POLICY.deadlines.harvest_fallback
    assert gains.state is WorkflowState.WAITING_EXPRESS
    assert gains.reason == f"express stream Express not done (harvest at the latest {fallback:%Y-%m-%d %H:%M} UTC)"
    at_fallback = decide_run(obs, POLICY, T0, _fresh_at(fallback), fallback)
    assert state_of(at_fallback, "SiStripGains").state is WorkflowState.HARVESTING  # from that very moment


def test_dqm_not_having_looked_holds_only_dqm_checked_workflows_and_says_why_dqm_is_down():
    obs = RunObservations(RunInfo(RUN, NOW - 30 * H, NOW - 10 * H), tier0(), all_uploads(skip="SiStripGains"), {}, {},
                          unobserved_by=(Source.DQM,))
    gains = state_of(decide_run(obs, POLICY, T0, FRESH, NOW), "SiStripGains")
    assert gains.state is WorkflowState.HARVESTING  # no DQM rule: DQM's look does not matter
    pixel_obs = RunObservations(RunInfo(RUN, NOW - 30 * H, NOW - 10 * H), tier0(), all_uploads(skip="SiPixelAli"),
                                {}, {}, unobserved_by=(Source.DQM,))
    down = {**FRESH, Source.DQM: SourceHealth(Source.DQM, NOW - 2 * H, "HTTP 500", NOW - H, failing=True)}
    pixel = state_of(decide_run(pixel_obs, POLICY, T0, down, NOW), "SiPixelAli")
    assert pixel.state is WorkflowState.UNKNOWN
    assert pixel.reason.startswith(f"DQM GUI has not looked at run {RUN} yet (DQM GUI failed at ")


def test_an_unreadable_dqm_histogram_waits_until_the_give_up_and_names_it():
    unreadable = {"SiPixelAli": DqmCheck(RUN, "SiPixelAli", DqmOutcome.UNREADABLE, "HTTP 500", NOW)}
    obs = observe(uploads=all_uploads(skip="SiPixelAli"), dqm=unreadable)
    give_up = NOW - 10 * H + POLICY.deadlines.pcl_give_up
    pixel = state_of(decide_run(obs, POLICY, T0, FRESH, NOW), "SiPixelAli")
    assert pixel.state is WorkflowState.HARVESTING
    assert pixel.reason.startswith(f"waiting for a payload in SiPixelAli_PCL_v0_prompt (PCL give-up "
                                   f"{give_up:%Y-%m-%d %H:%M} UTC); DQM GUI failed for this run: HTTP 500")
    at_give_up = decide_run(obs, POLICY, T0, _fresh_at(give_up), give_up)
    assert state_of(at_give_up, "SiPixelAli").state is WorkflowState.MISSING


def test_a_harvesting_and_a_missing_workflow_name_the_give_up_and_a_failing_dqm_only_where_it_matters():
    give_up = NOW - 10 * H + POLICY.deadlines.pcl_give_up
    down = {**FRESH, Source.DQM: SourceHealth(Source.DQM, NOW - 2 * H, "HTTP 500", NOW - H, failing=True)}
    obs = observe(uploads=all_uploads(skip="SiStripGains"))
    gains = state_of(decide_run(obs, POLICY, T0, down, NOW), "SiStripGains")
    assert gains.reason == (f"waiting for a payload in SiStripApvGain_PCL_v0_prompt "
                            f"(PCL give-up {give_up:%Y-%m-%d %H:%M} UTC)")
    pixel = state_of(decide_run(observe(uploads=all_uploads(skip="SiPixelAli")), POLICY, T0, down, NOW), "SiPixelAli")
    assert pixel.reason == (f"waiting for a payload in SiPixelAli_PCL_v0_prompt (PCL give-up {give_up:%Y-%m-%d %H:%M} "
                            f"UTC); DQM GUI failed at {NOW - H:%Y-%m-%d %H:%M} UTC: HTTP 500")
    missing = state_of(decide_run(obs, POLICY, T0, _fresh_at(give_up), give_up), "SiStripGains")
    assert missing.state is WorkflowState.MISSING
    assert missing.reason == f"no payload in SiStripApvGain_PCL_v0_prompt by PCL give-up {give_up:%Y-%m-%d %H:%M} UTC"


def test_a_pause_holds_the_lock_a_run_passed_without_its_calibrations():
    paused = Tier0Global(RUN, False, NOW)  # Tier0 is paused: it has not locked the run
    obs = observe(48, uploads=all_uploads(skip="SiStripGains"))
    verdict = decide_run(obs, POLICY, paused, FRESH, NOW)
    lock = NOW - 48 * H + 48 * H - timedelta(minutes=30)
    assert verdict.state is RunState.NOT_READY and not verdict.release
    assert verdict.reasons[0] == f"lock held by Tier0's pause (nominal lock {lock:%Y-%m-%d %H:%M} UTC)"
    releasing = decide_run(obs, POLICY, T0, FRESH, NOW)
    assert releasing.state is RunState.OVERDUE and "lock time" in releasing.reasons[0]


def test_an_unknown_producer_in_two_streams_names_both_and_blocks_as_the_policy_s_word():
    producers = dict(ALL_PRODUCERS, Express=ALL_PRODUCERS["Express"] | {"PromptCalibProdNewThing"},
                     HLTMonitor=ALL_PRODUCERS["HLTMonitor"] | {"PromptCalibProdNewThing"})
    verdict = decide_run(observe(t0=tier0(producers=producers)), POLICY, T0, FRESH, NOW)
    unknown = state_of(verdict, "PromptCalibProdNewThing")
    assert unknown.reason.startswith("PromptCalibProdNewThing runs in express streams Express, HLTMonitor of run ")
    assert unknown.source is Source.POLICY and unknown.done is False
    single = dict(ALL_PRODUCERS, Express=ALL_PRODUCERS["Express"] | {"PromptCalibProdNewThing"})
    one = state_of(decide_run(observe(t0=tier0(producers=single)), POLICY, T0, FRESH, NOW), "PromptCalibProdNewThing")
    assert one.reason.startswith("PromptCalibProdNewThing runs in express stream Express of run ")


def test_a_last_answer_stamped_ahead_of_the_clock_is_no_proof_of_freshness():
    obs = observe(uploads=all_uploads())
    ahead = {**FRESH, Source.CONDDB: SourceHealth(Source.CONDDB, NOW + timedelta(minutes=6))}
    verdict = decide_run(obs, POLICY, T0, ahead, NOW)
    assert not verdict.release
    assert any("6 min ahead of this clock" in reason for reason in verdict.reasons), verdict.reasons
    within = {**FRESH, Source.CONDDB: SourceHealth(Source.CONDDB, NOW + timedelta(minutes=5))}
    assert decide_run(obs, POLICY, T0, within, NOW).release  # clocks differ this much: the tolerance


def test_a_no_payload_by_design_read_once_is_not_believed_until_a_later_read_agrees():
    once = {"SiPixelAli": DqmCheck(RUN, "SiPixelAli", DqmOutcome.NO_UPDATE, "'DB update' not set", NOW, NOW)}
    obs = observe(2, uploads=all_uploads(skip="SiPixelAli"), dqm=once)
    ali = state_of(decide_run(obs, POLICY, T0, FRESH, NOW), "SiPixelAli")
    assert ali.state is WorkflowState.HARVESTING and not ali.done
    assert "no payload by design ('DB update' not set), read once at 2026-11-22 12:00" in ali.reason
    agreed = {"SiPixelAli": replace(once["SiPixelAli"], first_seen=NOW - timedelta(minutes=5))}
    ali = state_of(decide_run(observe(2, uploads=all_uploads(skip="SiPixelAli"), dqm=agreed), POLICY, T0, FRESH,
                              NOW), "SiPixelAli")
    assert ali.state is WorkflowState.NO_PAYLOAD and ali.done
    unknown = {"SiPixelAli": replace(once["SiPixelAli"], first_seen=None)}  # stored before it was kept
    ali = state_of(decide_run(observe(2, uploads=all_uploads(skip="SiPixelAli"), dqm=unknown), POLICY, T0, FRESH,
                              NOW), "SiPixelAli")
    assert not ali.done
