"""The console without its noise: what is not waited for is a count, words repeated for many workflows are
said once, the run a paused Tier0 waits for comes first, an unknown producer is always named, and a run still
taking data has nothing to chase."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from simulator.scenario import Outcome, SimRun, all_streams
from spyagency.core.models import RunSummary, WorkflowStatus
from spyagency.views.console import grid, headline
from spyagency.views.folding import fold_not_waited, fold_reasons, workflow_lines

from ..conftest import START

H = timedelta(hours=1)
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
READY = ("all 15 configured calibrations are in; not waited for: PromptCalibProdSiPixelAliHG (high-granularity "
         "pixel alignment: uploads to SiPixelAliHG_PCL_v0_hlt), PromptCalibProdSiPixelAliHLTHGC (HLT alignment in "
         "HLTMonitor: uploads to SiPixelAliHLTHGCombined_PCL_v0_hlt)")


def _status(name: str, state: str, reason: str, done: bool, source: str = "conddb") -> WorkflowStatus:
    return WorkflowStatus(name, state, reason, source, done, NOW)


def _run(workflows: tuple[WorkflowStatus, ...], stop: datetime | None = NOW - 10 * H, release: bool = False,
         reasons: tuple[str, ...] = ()) -> RunSummary:
    return RunSummary(386925, "ready" if release else "not_ready", release, reasons, NOW - 12 * H, stop, None,
                      None, NOW, "Run2026D", workflows)


def test_what_is_not_waited_for_is_a_count_with_its_details_apart():
    folded, details = fold_not_waited(READY)
    assert folded == "all 15 configured calibrations are in; 2 not waited for"
    assert details is not None and details.startswith("PromptCalibProdSiPixelAliHG (high-granularity")
    assert fold_not_waited("all 15 configured calibrations are in") == ("all 15 configured calibrations are in", None)


def test_the_same_words_for_many_workflows_are_said_once_in_order():
    reasons = ("run 386931 is still taking data (no stop time in RUN_INFO)", "SiStripGains: express stream Express "
               "not done", "SiPixelAli: express stream Express not done", "EcalPedestals: harvesting")
    assert fold_reasons(reasons) == ("run 386931 is still taking data (no stop time in RUN_INFO)",
                                     "SiStripGains, SiPixelAli: express stream Express not done",
                                     "EcalPedestals: harvesting")


def test_the_quality_watchs_not_judged_note_is_said_once_for_every_workflow():
    tail = "; quality not judged: only 0 earlier run(s) to compare with"
    lines, note = workflow_lines((_status("SiStripGains", "uploaded", "payload a in tag" + tail, True),
                                  _status("SiPixelAli", "uploaded", "payload b in tag" + tail, True),
                                  _status("LumiPCC", "uploaded", "payload c in tag", True)))
    assert [line.reason for line in lines] == ["payload a in tag", "payload b in tag", "payload c in tag"]
    assert note == ("quality not judged for 2 workflow(s) (SiStripGains, SiPixelAli): only 0 earlier run(s) to "
                    "compare with")


def test_an_unknown_producer_is_always_named_and_a_running_run_has_nothing_to_chase():
    blocking = (_status("SiPixelAli", "vetoed", "DB update vetoed", False, "dqm"),
                _status("PromptCalibProdNew", "unknown", "the policy does not list it", False, "policy"))
    text, more = headline(_run(blocking, reasons=("a", "b")), ["SiPixelAli"])
    assert text.startswith("SiPixelAli vetoed") and "also PromptCalibProdNew, unknown to the policy" in text
    assert more == 0
    assert headline(_run(blocking, stop=None), ["SiPixelAli"]) == ("still taking data: nothing to chase yet", 0)


def test_during_a_pause_the_run_tier0_waits_for_comes_first_and_the_others_stay_newest_first(world_factory,
                                                                                             policy):
    runs = [SimRun(386925, START - 12 * H, START - 8 * H, all_streams(policy), {"SiPixelAli": Outcome.VETOED}),
            SimRun(386926, START - 10 * H, START - 7 * H, all_streams(policy)),
            SimRun(386927, START - 6 * H, START - 5 * H, all_streams(policy))]
    world = world_factory(runs)
    world.at(timedelta(0))
    with world.store.session() as session:
        quiet = grid(session, policy, world.clock.now())
    assert [row.run.run for row in quiet.rows] == [386927, 386926, 386925] and not any(r.pinned for r in quiet.rows)
    world.at(39 * H)  # half an hour before 386925's lock: SpyAgency pauses
    assert world.agency.steer().delivered == 1
    world.at(39 * H + timedelta(minutes=1))  # a Tier0 poll sees the switch paused
    with world.store.session() as session:
        paused = grid(session, policy, world.clock.now())
    assert [row.run.run for row in paused.rows] == [386925, 386927, 386926]
    assert paused.rows[0].pinned and paused.rows[0].headline.startswith("SiPixelAli vetoed")
    ready = next(row for row in paused.rows if row.run.run == 386926)
    assert ready.not_waited is not None and "not waited for" in ready.headline
    assert replace(ready, pinned=False) == ready  # only the run Tier0 waits for is pinned
