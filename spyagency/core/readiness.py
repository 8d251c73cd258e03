"""The readiness decision: observations + policy + now → a verdict per run.

A pure function: no I/O and no clock reads, so it is cheap to re-run for every
run on every cycle and easy to test exhaustively. Anything missing, stale or
contradictory resolves to *not ready, and why* — never to ready.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from spyagency.core.models import (
    DONE_STATES,
    AckKind,
    Acknowledgement,
    AttributedUpload,
    Attribution,
    DqmOutcome,
    RunObservations,
    RunState,
    RunVerdict,
    Source,
    SourceHealth,
    Tier0Global,
    Upload,
    WorkflowState,
    WorkflowVerdict,
)
from spyagency.core.plausibility import configuration_doubt, dqm_doubt
from spyagency.core.quality import QualityScore, QualityStatus
from spyagency.core.since import unpack_lumi
from spyagency.core.words import utc_minute
from spyagency.policy import Policy, Workflow


def source_problem(health: SourceHealth | None, now: datetime, stale_after: timedelta,
                   ahead_tolerance: timedelta = timedelta(minutes=5)) -> str | None:
    """Return why a source's data cannot be trusted at ``now``, or None if it can. A last answer stamped
    ahead of ``now`` beyond the clocks' tolerance says nothing of freshness: a clock that moved back, or a
    store kept on a simulated clock and served on the real one."""
    if health is not None and health.failing:
        return f"failed at {utc_minute(health.last_error_at)}: {health.last_error}"
    if health is None or health.last_success is None:
        return "has not answered yet"
    age = now - health.last_success
    if age > stale_after:
        return f"is stale: last answer {utc_minute(health.last_success)} ({_age(age)} ago)"
    if -age > ahead_tolerance:
        return (f"last answered at {utc_minute(health.last_success)}, {_age(-age)} ahead of this clock: a clock "
                f"that moved back, or a store kept on a simulated clock")
    return None


def _may_still_look(health: SourceHealth | None, problem: str | None) -> bool:
    """Whether a source that has not looked at a run yet is merely late to it (healthy, or never polled),
    rather than failing or stale: a fact that a warning or pause may rest on."""
    return problem is None or health is None or (health.last_success is None and not health.failing)


def undecidable_run(obs: RunObservations, policy: Policy, now: datetime, error: str) -> RunVerdict:
    """The verdict of a run whose decision failed: not ready, saying why, with its lock time kept so that
    steering still sees it coming (a fault in one run's data stays in that run)."""
    stop = obs.info.stop_time
    lock_time = stop + policy.deadlines.reco_delay - policy.deadlines.lock_offset if stop else None
    return RunVerdict(run=obs.info.run, state=RunState.NOT_READY, release=False,
                      reasons=(f"SpyAgency could not decide run {obs.info.run}: {error}",), lock_time=lock_time,
                      release_time=stop + policy.deadlines.reco_delay if stop else None, workflows=(),
                      decided_at=now)


def decide_run(
    obs: RunObservations,
    policy: Policy,
    tier0: Tier0Global,
    health: dict[Source, SourceHealth],
    now: datetime,
) -> RunVerdict:
    """Decide the readiness of one run.

    The calibrations it waits for are those Tier0 configured for it: every ``PromptCalibProd*``
    producer of every express stream of the run. A producer the policy does not know is never
    ignored: it blocks the run until the policy lists it or an AlCa expert acknowledges it.
    """
    stale_after = policy.sources.stale_after
    problems = {src: source_problem(health.get(src), now, stale_after, policy.sources.clock_tolerance)
                for src in Source}
    configured = _configured_producers(obs)
    workflows = tuple(
        [_decide_workflow(wf, obs, policy, problems, now) for wf in policy.workflows]
        + [_decide_unlisted(producer, streams, obs) for producer, streams in configured.items()
           if producer not in policy.known_producers]
    )
    run = obs.info.run
    stop = obs.info.stop_time
    lock_time = stop + policy.deadlines.reco_delay - policy.deadlines.lock_offset if stop else None
    release_time = stop + policy.deadlines.reco_delay if stop else None

    gates = _run_gates(obs, problems, policy, now)
    # DQM matters only to workflows whose state waits for its word
    waits_for_dqm = any(w.source is Source.DQM and w.state is WorkflowState.UNKNOWN for w in workflows)
    awaiting = tuple(src for src in obs.unobserved_by if _may_still_look(health.get(src), problems[src])
                     and (src is not Source.DQM or waits_for_dqm))
    blocking = [f"{w.workflow}: {w.reason}" for w in workflows if not w.done]
    all_done = not gates and not blocking
    locked = tier0.first_conditions_safe_run is not None and run < tier0.first_conditions_safe_run

    # while Tier0 is paused it locks nothing: a run past its nominal lock waits for the resume
    held = (not locked and tier0.promptreco_enabled is False and lock_time is not None and now >= lock_time)
    if locked:
        state = RunState.RELEASED if all_done else RunState.OVERDUE
    elif all_done:
        state = RunState.READY
    elif lock_time is not None and now >= lock_time and not held:
        state = RunState.OVERDUE
    else:
        state = RunState.NOT_READY

    if all_done:
        reasons: list[str] = [_settled_words(workflows, configured, obs, policy)]
        if locked:
            reasons.insert(0, f"Tier0 has locked run {run} (first conditions-safe run is "
                              f"{tier0.first_conditions_safe_run})")
    else:
        reasons = gates + blocking
        if held:
            reasons.insert(0, f"lock held by Tier0's pause (nominal lock {utc_minute(lock_time)})")
        if state is RunState.OVERDUE:  # Tier0 locked it, or its lock time (then known) passed
            when = (f"Tier0 locked it (first conditions-safe run {tier0.first_conditions_safe_run})" if locked
                    else f"lock time {utc_minute(lock_time)} passed")
            reasons.insert(0, f"overdue: {when} without every calibration")

    return RunVerdict(
        run=run,
        state=state,
        release=state in (RunState.READY, RunState.RELEASED),
        reasons=tuple(reasons),
        lock_time=lock_time,
        release_time=release_time,
        workflows=workflows,
        decided_at=now,
        awaiting=() if all_done else awaiting,
    )


def _configured_producers(obs: RunObservations) -> dict[str, tuple[str, ...]]:
    """The PCL producers Tier0 configured for the run (→ their streams), once its answer can be trusted."""
    t0 = obs.tier0
    if t0 is None or t0.error or not t0.known:
        return {}
    return t0.pcl_producers()


def _settled_words(workflows: tuple[WorkflowVerdict, ...], configured: dict[str, tuple[str, ...]],
                   obs: RunObservations, policy: Policy) -> str:
    """What a ready run's calibrations are, in words that are true of each: in, acknowledged or let go."""
    if not configured:
        return "no prompt calibration is configured for this run (no PromptCalibProd* producer in its express streams)"
    applicable = [w for w in workflows if w.state is not WorkflowState.NOT_APPLICABLE]
    skipped = [f"{producer} ({policy.not_for_prompt_reason(producer)})" for producer in configured
               if policy.not_for_prompt_reason(producer) is not None]
    not_waited = f"; not waited for: {', '.join(skipped)}" if skipped else ""
    if not applicable:
        return f"no calibration configured for this run feeds prompt reco{not_waited}"
    arrived = [w for w in applicable if w.state in (WorkflowState.UPLOADED, WorkflowState.NO_PAYLOAD)]
    acknowledged = [w for w in applicable if w.state is WorkflowState.ACKNOWLEDGED]
    let_go = [w for w in applicable if w not in arrived and w not in acknowledged]
    if len(arrived) == len(applicable):
        return f"all {len(applicable)} configured calibrations are in{not_waited}"
    parts = [f"{len(arrived)} in"] if arrived else []
    if acknowledged:
        authors = sorted({obs.acks[w.workflow].author for w in acknowledged if w.workflow in obs.acks})
        parts.append(f"{len(acknowledged)} acknowledged by {', '.join(authors)} "
                     f"({', '.join(w.workflow for w in acknowledged)})")
    if let_go:
        parts.append(f"{len(let_go)} let go by the policy ({', '.join(w.workflow for w in let_go)})")
    return f"every one of the {len(applicable)} configured calibrations is settled: {'; '.join(parts)}{not_waited}"


def _decide_unlisted(producer: str, streams: tuple[str, ...], obs: RunObservations) -> WorkflowVerdict:
    """A PCL producer Tier0 runs for this run that the policy does not know: never ignored."""
    where = f"express stream{'s' if len(streams) > 1 else ''} {', '.join(streams)}"
    reason = (f"{producer} runs in {where} of run {obs.info.run}, but the policy does not list it: SpyAgency "
              f"cannot tell whether its payload is in; list it in the policy (or as not feeding prompt reco), "
              f"or an AlCa expert acknowledges it for this run")
    return _with_ack(producer, WorkflowState.UNKNOWN, reason, Source.POLICY, False, obs.acks.get(producer))


def _run_gates(obs: RunObservations, problems: dict[Source, str | None], policy: Policy,
               now: datetime) -> list[str]:
    """Run-level reasons that block readiness regardless of the workflows."""
    gates: list[str] = []
    if problems[Source.CONDDB]:
        gates.append(f"CondDB {problems[Source.CONDDB]}")
    if obs.info.stop_time is None:
        gates.append(f"run {obs.info.run} is still taking data (no stop time in RUN_INFO)")
    if problems[Source.TIER0]:
        gates.append(f"Tier0 Data Service {problems[Source.TIER0]}")
    elif obs.tier0 is not None and obs.tier0.error:
        gates.append(f"Tier0 Data Service failed for run {obs.info.run}: {obs.tier0.error}")
    elif obs.tier0 is None:
        gates.append(f"Tier0 Data Service has not looked at run {obs.info.run} yet")
    elif not obs.tier0.known:
        gates.append(f"Tier0 has no configuration for run {obs.info.run}")
    elif not obs.tier0.express_producers:
        gates.append(_no_express_stream(obs, policy, now))
    elif obs.info.stop_time is not None:
        doubt = configuration_doubt(obs.info.run, obs.tier0.configuration_since, obs.tier0.observed_at,
                                    policy.sources.agreement)
        if doubt is not None:
            gates.append(doubt)
    return gates


def _no_express_stream(obs: RunObservations, policy: Policy, now: datetime) -> str:
    """Why an empty express configuration is "not yet", never "nothing to wait for": Tier0 configures each
    stream when its first data arrives, so a transfer backlog answers the same as a run without express."""
    said = (f"Tier0 lists no express stream for run {obs.info.run} yet (each stream is configured when its "
            f"first data arrives: a transfer backlog looks the same)")
    stop = obs.info.stop_time
    if stop is not None and now >= stop + policy.deadlines.pcl_give_up:
        give_up = utc_minute(stop + policy.deadlines.pcl_give_up)
        return f"{said}; past its PCL give-up {give_up}, an operator's override may let it go without"
    return said


def _decide_workflow(
    wf: Workflow,
    obs: RunObservations,
    policy: Policy,
    problems: dict[Source, str | None],
    now: datetime,
) -> WorkflowVerdict:
    state, reason, source = _observed_state(wf, obs, policy, problems, now)
    if wf.quality is not None and state is WorkflowState.UPLOADED:
        state, reason, source = _judged(wf, obs, state, reason, source)
    done = state in DONE_STATES
    if not wf.required and not done:
        reason, done = f"{reason} (not required)", True
    if wf.on_give_up == "proceed" and state is WorkflowState.MISSING:
        reason, done = f"{reason}; policy proceeds without it", True

    return _with_ack(wf.name, state, reason, source, done, obs.acks.get(wf.name))


#: States an expert cannot accept as they are: nothing has happened yet that an accept could answer.
_NOT_YET = frozenset({WorkflowState.WAITING_EXPRESS, WorkflowState.HARVESTING})


def _with_ack(name: str, state: WorkflowState, reason: str, source: Source, done: bool,
              ack: Acknowledgement | None) -> WorkflowVerdict:
    """A workflow's verdict with the latest AlCa expert's word on it applied."""
    if ack is None:
        return WorkflowVerdict(name, state, reason, source, done)
    who = f"{ack.author} at {utc_minute(ack.created_at)}"
    note = f": {ack.comment}" if ack.comment else ""
    if ack.kind is AckKind.HOLD:
        return WorkflowVerdict(name, WorkflowState.HELD,
                               f"held by {who}{note} (was {state.value}: {reason})",
                               Source.EXPERT, False)
    if done:
        return WorkflowVerdict(name, state, f"{reason} (acknowledged by {who})", source, True)
    if ack.kind is AckKind.ACCEPT and state in _NOT_YET:
        # an accept "as is" answers a state the expert saw; a calibration still on its way has none
        return WorkflowVerdict(name, state, f"{reason}; the accept by {who} does not count while it is "
                                            f"{state.value.replace('_', ' ')}: accept it without payload to "
                                            f"go without it", source, False)
    how = "without payload" if ack.kind is AckKind.ACCEPT_WITHOUT_PAYLOAD else "as is"
    return WorkflowVerdict(name, WorkflowState.ACKNOWLEDGED,
                           f"accepted {how} by {who}{note} (was {state.value}: {reason})",
                           Source.EXPERT, True)


def _judged(wf: Workflow, obs: RunObservations, state: WorkflowState, reason: str,
            source: Source) -> tuple[WorkflowState, str, Source]:
    """An uploaded workflow under the quality watch: advisory adds the watch's word to the reason;
    a gate holds the run for an expert unless the output was read and looks like its history."""
    assert wf.quality is not None
    score: QualityScore | None = obs.quality.get(wf.name)
    if wf.quality.mode == "advisory":  # a flag only: the watch's word once it has one
        return state, f"{reason}; {score.summary}" if score is not None else reason, source
    what, read_from = ("payload sizes", Source.CONDDB) if wf.quality.reads_uploads else ("DQM numbers", Source.DQM)
    summary = score.summary if score is not None else f"quality unknown: its {what} have not been read yet"
    if score is not None and score.status is QualityStatus.NORMAL:
        return state, f"{reason}; {summary}", source
    return WorkflowState.NEEDS_REVIEW, f"uploaded, needs review: {summary} ({reason})", read_from


def _observed_state(
    wf: Workflow,
    obs: RunObservations,
    policy: Policy,
    problems: dict[Source, str | None],
    now: datetime,
) -> tuple[WorkflowState, str, Source]:
    run, stop, t0 = obs.info.run, obs.info.stop_time, obs.tier0
    deadlines = policy.deadlines

    if problems[Source.TIER0] or t0 is None or t0.error or not t0.known:
        why = problems[Source.TIER0] or (f"has not looked at run {run} yet" if t0 is None
                                         else f"failed for run {run}: {t0.error}" if t0.error
                                         else f"has no configuration for run {run}")
        return WorkflowState.UNKNOWN, f"Tier0 Data Service {why}", Source.TIER0
    streams = t0.streams_running(wf.producer)
    if stop is not None and not streams:
        return (WorkflowState.NOT_APPLICABLE,
                f"no express stream of run {run} runs {wf.producer}", Source.TIER0)
    if problems[Source.CONDDB]:
        return WorkflowState.UNKNOWN, f"CondDB {problems[Source.CONDDB]}", Source.CONDDB
    if wf.tag in obs.missing_tags:
        return WorkflowState.UNKNOWN, f"destination tag {wf.tag} is not in the CondDB", Source.CONDDB

    here = obs.uploads.get(wf.tag, ())
    own = _of_kind(here, Attribution.OWN)
    dqm = obs.dqm.get(wf.name) if wf.dqm else None

    if own:
        newest = max(own, key=lambda u: u.upload.inserted_at)
        if dqm is not None and dqm.outcome is DqmOutcome.FAILED:
            return WorkflowState.FAILED, f"payload in {wf.tag} but DQM says: {dqm.detail}", Source.DQM
        return WorkflowState.UPLOADED, _describe_upload(newest.upload, wf), Source.CONDDB
    after_lock = _of_kind(here, Attribution.AFTER_LOCK)
    if after_lock:
        first = min(after_lock, key=lambda u: u.upload.inserted_at)
        return (WorkflowState.LATE, f"{_describe_upload(first.upload, wf)}: {first.why}", Source.CONDDB)
    ambiguous = _of_kind(here, Attribution.AMBIGUOUS)
    if ambiguous:
        first = min(ambiguous, key=lambda u: u.upload.inserted_at)
        other = f"run {first.earlier_run}" if first.earlier_run is not None else "an earlier, locked run"
        return (WorkflowState.AMBIGUOUS,
                f"{_describe_upload(first.upload, wf)} may belong to run {run} or to {other}: {first.why}; "
                f"an AlCa expert must say which", Source.CONDDB)
    late = obs.landed_later.get(wf.tag, ())
    if late:
        first = min(late, key=lambda u: u.upload.inserted_at)
        return (WorkflowState.LATE,
                f"no payload of its own; one that may be run {run}'s landed late on run "
                f"{first.upload.since_run} ({_describe_upload(first.upload, wf)})", Source.CONDDB)
    if stop is None:
        return WorkflowState.WAITING_EXPRESS, f"run {run} is still taking data", Source.CONDDB

    harvest_by = stop + deadlines.harvest_fallback
    give_up = stop + deadlines.pcl_give_up
    not_done = [stream for stream in streams if not t0.streams_done.get(stream, False)]
    if not_done and now < harvest_by:
        return (WorkflowState.WAITING_EXPRESS,
                f"express stream {', '.join(not_done)} not done (harvest at the latest {utc_minute(harvest_by)})",
                Source.TIER0)
    if wf.dqm and dqm is None and Source.DQM in obs.unobserved_by:
        # without DQM's word a missing payload could be "no update by design": claim nothing yet
        dqm_problem = problems[Source.DQM]
        down = f" (DQM GUI {dqm_problem})" if dqm_problem else ""
        return WorkflowState.UNKNOWN, f"DQM GUI has not looked at run {run} yet{down}", Source.DQM
    if dqm is not None:
        if dqm.outcome is DqmOutcome.UNREADABLE and now < give_up:
            return (WorkflowState.HARVESTING,
                    f"waiting for a payload in {wf.tag} (PCL give-up {utc_minute(give_up)}); "
                    f"DQM GUI failed for this run: {dqm.detail}", Source.DQM)
        if dqm.outcome is DqmOutcome.VETOED:
            return WorkflowState.VETOED, f"harvest vetoed its update: {dqm.detail}", Source.DQM
        if dqm.outcome is DqmOutcome.FAILED:
            return WorkflowState.FAILED, f"harvest failed: {dqm.detail}", Source.DQM
        if dqm.outcome is DqmOutcome.NO_UPDATE:
            doubt = dqm_doubt(dqm.first_seen, dqm.observed_at, policy.sources.agreement)
            if doubt is None:
                return WorkflowState.NO_PAYLOAD, f"harvest made no payload by design: {dqm.detail}", Source.DQM
            if now < give_up:
                return (WorkflowState.HARVESTING, f"waiting for a payload in {wf.tag} (PCL give-up "
                        f"{utc_minute(give_up)}); DQM says the harvest made no payload by design ({dqm.detail}), "
                        f"{doubt}", Source.DQM)
    if now >= give_up:
        return (WorkflowState.MISSING,
                f"no payload in {wf.tag} by PCL give-up {utc_minute(give_up)}", Source.CONDDB)
    extra = ""
    if wf.dqm and problems[Source.DQM]:
        extra = f"; DQM GUI {problems[Source.DQM]}"
    return (WorkflowState.HARVESTING,
            f"waiting for a payload in {wf.tag} (PCL give-up {utc_minute(give_up)}){extra}",
            Source.CONDDB)


def _of_kind(uploads: tuple[AttributedUpload, ...], kind: Attribution) -> list[AttributedUpload]:
    return [u for u in uploads if u.attribution is kind]


def _describe_upload(upload: Upload, wf: Workflow) -> str:
    where = f"since {upload.since}"
    if wf.time_type == "lumi":
        run, lumi = unpack_lumi(upload.since)
        where = f"since {upload.since} (run {run}, lumi {lumi})"
    return f"payload {upload.payload_hash[:12]} in {wf.tag} at {where}, inserted {utc_minute(upload.inserted_at)}"



def _age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
