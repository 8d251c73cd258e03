"""Property: a run is released exactly when the spec says, for good runs with one fault at a time.

Each example is a run that would be ready, with at most one thing wrong (a payload missing,
late, someone else's, a DQM verdict, an expert's word, a source stale or failing, ...). The
expected answer is stated per fault from the specification, not computed by production rules:
the property then checks release in both directions, through the decision and the release answer
Tier0 reads. How often each branch is reached is counted, and a test fails below stated shares.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from hypothesis import event, given, settings
from hypothesis import strategies as st

from spyagency.core.models import (
    AckKind,
    Acknowledgement,
    Attribution,
    DqmCheck,
    DqmOutcome,
    RunInfo,
    RunObservations,
    RunSummary,
    Source,
    SourceHealth,
    Tier0Global,
    Tier0Run,
)
from spyagency.core.readiness import decide_run
from spyagency.core.release import release_answer

from .test_readiness import ALL_PRODUCERS, COLLISION_WORKFLOWS, NOW, POLICY, RUN, streams_of, upload

STALE_MIN = POLICY.sources.stale_after.total_seconds() / 60  # 15
H = timedelta(hours=1)
NAMES = [name for name in COLLISION_WORKFLOWS if POLICY.workflow(name).required]  # what a collision run waits for
DQM_WORKFLOWS = [name for name in COLLISION_WORKFLOWS if POLICY.workflow(name).dqm]
REACHED: Counter[str] = Counter()
MIN_RELEASE_SHARE = 0.3
MIN_BLOCKED_SHARE = 0.3

#: fault → what the specification says about release
FAULTS = {
    "none": "released",
    "missing_before_give_up": "held back: the harvest may still upload",
    "missing_after_give_up": "released only if the policy proceeds without this calibration",
    "late": "held back: its payload went to a later run",
    "foreign_at_since": "held back: the payload at its since may be another run's",
    "dqm_failed": "held back: the harvest reported failure",
    "dqm_vetoed": "held back: vetoed, needs an expert",
    "dqm_no_update": "released: no payload by design",
    "hold": "held back: an expert holds it",
    "accepted": "released: an expert accepted the gap",
    "source_age": "released only if Tier0 and the CondDB answered within the staleness limit",
    "dqm_age": "released: DQM only matters where a payload is missing",
    "source_failing": "held back: a source the decision rests on failed",
    "tier0_unknown": "held back: Tier0 does not know the run",
    "express_not_done": "held back: express not done and no payload yet",
    "still_running": "held back: the run has not stopped",
    "not_in_express": "released: the express stream does not run that producer",
}


@dataclass(frozen=True)
class Example:
    fault: str
    workflow: str
    minutes: float  # a source's age (source_age, dqm_age), or the verdict's age for the release answer
    verdict_age_min: float
    source: Source
    stop_hours_ago: float
    fcsr_offset: int


ages = st.one_of(st.sampled_from([STALE_MIN - 1, STALE_MIN, STALE_MIN + 0.5, STALE_MIN + 1]), st.floats(0, 40))
examples = st.builds(
    Example,
    fault=st.sampled_from(list(FAULTS)),
    workflow=st.sampled_from(NAMES),
    minutes=ages,
    verdict_age_min=ages,
    source=st.sampled_from([Source.TIER0, Source.CONDDB]),
    stop_hours_ago=st.floats(19, 46),  # stopped, past the PCL give-up, before its lock
    fcsr_offset=st.integers(-3, 3),
)


def _observe(ex: Example) -> tuple[RunObservations, dict[Source, SourceHealth], bool]:
    """The run with its one fault, the sources' health, and whether the spec releases it."""
    wf = POLICY.workflow(ex.workflow)
    if ex.fault in ("dqm_failed", "dqm_vetoed", "dqm_no_update"):
        wf = POLICY.workflow(DQM_WORKFLOWS[NAMES.index(ex.workflow) % len(DQM_WORKFLOWS)])
    stop_ago = {"missing_before_give_up": 10.0, "express_not_done": 2.0}.get(ex.fault, ex.stop_hours_ago)
    stop = None if ex.fault == "still_running" else NOW - stop_ago * H
    producers = {s: set(p) for s, p in ALL_PRODUCERS.items()}
    carrying = streams_of(wf.producer)
    if ex.fault == "not_in_express":
        for stream in carrying:
            producers[stream].discard(wf.producer)
    done = {s: not (ex.fault == "express_not_done" and s in carrying) for s in producers}
    tier0 = Tier0Run(RUN, ex.fault != "tier0_unknown", "Run2026D", {s: frozenset(p) for s, p in producers.items()},
                     done, NOW, configuration_since=NOW - timedelta(hours=1))
    uploads = {w.tag: (upload(w.tag),) for w in POLICY.workflows}
    landed, dqm, acks = {}, {}, {}
    if ex.fault in ("missing_before_give_up", "missing_after_give_up", "dqm_vetoed", "dqm_no_update", "accepted",
                    "express_not_done", "not_in_express", "late", "foreign_at_since"):
        del uploads[wf.tag]
    if ex.fault == "late":
        landed[wf.tag] = (upload(wf.tag, since_run=RUN + 1, attribution=Attribution.LANDED),)
    if ex.fault == "foreign_at_since":
        kind = Attribution.AMBIGUOUS if ex.fcsr_offset % 2 else Attribution.AFTER_LOCK
        uploads[wf.tag] = (upload(wf.tag, attribution=kind),)
    outcome = {"dqm_failed": DqmOutcome.FAILED, "dqm_vetoed": DqmOutcome.VETOED,
               "dqm_no_update": DqmOutcome.NO_UPDATE}.get(ex.fault)
    if outcome is not None:
        dqm[wf.name] = DqmCheck(RUN, wf.name, outcome, "status histogram", NOW - H, NOW - 2 * H)  # confirmed
    if ex.fault == "hold":
        acks[wf.name] = Acknowledgement(RUN, wf.name, AckKind.HOLD, "expert", "checking", NOW - H)
    if ex.fault == "accepted":
        kind = AckKind.ACCEPT if ex.fcsr_offset % 2 else AckKind.ACCEPT_WITHOUT_PAYLOAD
        acks[wf.name] = Acknowledgement(RUN, wf.name, kind, "expert", "fine", NOW - H)
    health = {s: SourceHealth(s, NOW - timedelta(minutes=1)) for s in (Source.TIER0, Source.CONDDB, Source.DQM)}
    if ex.fault == "source_age":
        health[ex.source] = SourceHealth(ex.source, NOW - timedelta(minutes=ex.minutes))
    if ex.fault == "dqm_age":
        health[Source.DQM] = SourceHealth(Source.DQM, NOW - timedelta(minutes=ex.minutes))
    if ex.fault == "source_failing":
        health[ex.source] = SourceHealth(ex.source, NOW - H, "HTTP 500", NOW, failing=True)

    expected = {
        "none": True, "dqm_no_update": True, "accepted": True, "dqm_age": True, "not_in_express": True,
        "missing_after_give_up": wf.on_give_up == "proceed",
        "source_age": ex.minutes <= STALE_MIN,
    }.get(ex.fault, False)
    observations = RunObservations(RunInfo(RUN, NOW - 60 * H, stop), tier0, uploads, dqm, acks,
                                   landed_later=landed)
    return observations, health, expected


@settings(max_examples=500, deadline=None, derandomize=True)
@given(examples)
def test_a_good_run_with_one_fault_is_released_exactly_when_the_spec_says(ex: Example) -> None:
    observations, health, expected = _observe(ex)
    fcsr = RUN + ex.fcsr_offset  # Tier0 may have locked it already: release still means "all in"
    verdict = decide_run(observations, POLICY, Tier0Global(fcsr, True, NOW), health, NOW)
    REACHED["examples"] += 1
    REACHED[f"fault:{ex.fault}"] += 1
    REACHED["released" if verdict.release else "blocked"] += 1
    event(f"{ex.fault}: {'released' if verdict.release else 'held back'}")
    if ex.fault == "source_age" and ex.minutes == STALE_MIN:
        REACHED["staleness_boundary"] += 1
    assert verdict.release is expected, (f"{ex.fault} on {ex.workflow}: spec says {FAULTS[ex.fault]!r}, "
                                         f"got release={verdict.release}: {verdict.reasons}")
    if not verdict.release:
        assert verdict.reasons, "a run held back always says why"

    # what Tier0 reads: the stored verdict, unless it is too old to stand on
    summary = RunSummary(RUN, verdict.state.value, verdict.release, verdict.reasons, NOW - 60 * H, None,
                         verdict.lock_time, verdict.release_time, NOW - timedelta(minutes=ex.verdict_age_min),
                         "Run2026D", ())
    answer = release_answer(summary, NOW, POLICY.sources.stale_after)
    assert answer.release is (verdict.release and ex.verdict_age_min <= STALE_MIN)
    if verdict.release and ex.verdict_age_min == STALE_MIN + 0.5:
        REACHED["stale_verdict_refused"] += 1


def test_the_property_reaches_each_branch_often_enough() -> None:
    """Runs after the property (file order): a property that never releases, or never blocks, checks little."""
    assert REACHED["examples"] > 0, "run the whole module"
    total = REACHED["examples"]
    print(f"released {REACHED['released']} / blocked {REACHED['blocked']} of {total}; staleness boundary drawn "
          f"{REACHED['staleness_boundary']} times; stale verdict refused {REACHED['stale_verdict_refused']} times; "
          + ", ".join(f"{k[6:]} {v}" for k, v in sorted(REACHED.items()) if k.startswith("fault:")))
    assert REACHED["released"] / total >= MIN_RELEASE_SHARE
    assert REACHED["blocked"] / total >= MIN_BLOCKED_SHARE
    assert all(REACHED[f"fault:{fault}"] > 0 for fault in FAULTS), "a fault kind was never drawn"
    assert REACHED["staleness_boundary"] > 0 and REACHED["stale_verdict_refused"] > 0
