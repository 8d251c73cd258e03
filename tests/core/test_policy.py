"""The policy file: the shipped default, and clear errors naming what is wrong."""

import pytest

from spyagency.policy import PolicyError, load_policy, parse_policy

MINIMAL = """
version = 1
name = "t"
[[workflow]]
name = "SiStripGains"
producer = "PromptCalibProdSiStripGains"
record = "SiStripApvGainRcd"
tag = "SiStripApvGain_PCL_v0_prompt"
time_type = "run"
"""


def test_default_policy_lists_the_real_pcl_workflows():
    policy = load_policy()
    assert len(policy.workflows) == 17
    assert policy.workflow("BeamSpotHPByLumi").tag == "BeamSpotObjects_PCL_byLumi_v0_prompt"
    # the cosmics producers, the legacy beam spot (two tags) and the HLT calibration Tier0 configures
    assert {wf.producer for wf in policy.workflows} >= {"PromptCalibProdSiPixelLAMCS", "PromptCalibProdSiStripLA",
                                                         "PromptCalibProd"}
    assert len(policy.workflows_of("PromptCalibProd")) == 2
    assert policy.not_for_prompt_reason("PromptCalibProdSiPixelAliHLTHGC")
    assert policy.not_for_prompt_reason("PromptCalibProdSiPixelAliHG")
    assert policy.workflow("SiPixelQuality").time_type == "lumi"
    assert policy.workflow("SiPixelAli").dqm is not None
    assert policy.deadlines.reco_delay_hours == 48 and policy.deadlines.lock_offset_minutes == 30
    assert policy.deadlines.pcl_give_up_hours == 18


def test_a_workflow_bound_to_a_stream_is_refused_with_the_fix():
    with pytest.raises(PolicyError, match="names its producer, not a stream"):
        parse_policy(MINIMAL.replace('name = "SiStripGains"', 'name = "SiStripGains"\nstream = "Express"'))


def test_a_producer_both_waited_for_and_not_for_prompt_is_refused():
    both = MINIMAL + '[[not_for_prompt]]\nproducer = "PromptCalibProdSiStripGains"\nwhy = "hlt"\n'
    with pytest.raises(PolicyError, match="both a workflow and not for prompt reco"):
        parse_policy(both)


def test_a_misspelt_key_is_named_in_the_error():
    with pytest.raises(PolicyError, match=r"workflow\.0\.time_typ"):
        parse_policy(MINIMAL.replace("time_type", "time_typ"))


def test_a_bad_time_type_is_named_in_the_error():
    with pytest.raises(PolicyError, match=r"workflow\.0\.time_type"):
        parse_policy(MINIMAL.replace('"run"', '"hash"'))


def test_two_workflows_on_one_tag_are_refused():
    doubled = MINIMAL + MINIMAL.split("\n", 3)[3].replace('name = "SiStripGains"', 'name = "Other"')
    with pytest.raises(PolicyError, match="share tag"):
        parse_policy(doubled)


def test_give_up_after_lock_is_refused():
    text = MINIMAL.replace('name = "t"', 'name = "t"\n[deadlines]\npcl_give_up_hours = 60')
    with pytest.raises(PolicyError, match="pcl_give_up_hours"):
        parse_policy(text)


def test_broken_toml_and_missing_file_say_so(tmp_path):
    with pytest.raises(PolicyError, match="not valid TOML"):
        parse_policy("version = ")
    with pytest.raises(PolicyError, match="cannot read policy"):
        load_policy(tmp_path / "nope.toml")


def test_the_tier0_instance_sets_the_lock_timing_and_a_misfit_is_named():
    from spyagency.settings import Settings
    from spyagency.tier0_instance import instance_policy

    production = instance_policy(Settings(tier0_reco_delay_minutes=48 * 60, tier0_lock_offset_minutes=30))
    assert production.deadlines.lock_delay.total_seconds() == 47.5 * 3600
    with pytest.raises(PolicyError, match="SPYAGENCY_TIER0_RECO_DELAY_MINUTES"):
        instance_policy(Settings(tier0_reco_delay_minutes=10, tier0_lock_offset_minutes=5))  # a replay
