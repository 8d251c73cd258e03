"""A season of data taking through Tier0's real rules, with SpyAgency steering it as deployed.

Not a test module. The world is ``reference_world.ReferenceWorld`` (written from
``shared/reference/CMS.md`` alone, sharing no code with SpyAgency's simulator): collision,
cosmics and heavy-ion runs with the production express lists, run-number gaps, express and
harvest latencies with Tier0 backlogs, late, missing and vetoed calibrations (a vetoed harvest
uploads nothing), the data service down for minutes to hours, the Offline Run Manager pausing and
resuming by hand, AlCa experts accepting a calibration that will not come after a delay, and Tier0
locking in run order, at its feeder's 30-s polls, only while the switch is on.

SpyAgency runs its embedded loop (observe and decide every poll, steer and warn every pass) on a
simulated clock with SQL steering on the two-column switch table. While a person's pause holds back
a run SpyAgency would pause for, its switch watch reads the switch every ``switch_watch_s``: the
driver steers that long after the person's resume (the watch's worst case). The report compares it with an
oracle that knows when every calibration lands and pauses only from a run's lock until it is ready.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import random
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from spyagency.agency import Agency
from spyagency.clock import ManualClock
from spyagency.core.models import AckKind
from spyagency.errors import InputRefused
from spyagency.passes.steer import standing_by
from spyagency.people.acknowledge import acknowledge
from spyagency.policy import Policy, load_policy
from spyagency.settings import Settings
from spyagency.store import Store

from .production import COLLISION, COSMICS, HEAVY_IONS, PCL_TABLE
from .reference_world import LOCK_AFTER, RELEASE_AFTER, Calibration, ReferenceWorld

H = timedelta(hours=1)
MIN = timedelta(minutes=1)
START = datetime(2026, 6, 1, tzinfo=UTC)
GIVE_UP = 18 * H  # Tier0's conditionUploadTimeout
HARVEST_FALLBACK = 12 * H  # alcaHarvestTimeout

PROMPT_SYNCHRONIZED = {"SiStripApvGain_PCL_v0_prompt", "EcalPedestals_PCL_v0_prompt", "LumiPCC_Corrections_prompt",
                       "BeamSpotObjects_PCL_byLumi_v0_prompt"}
@dataclass
class PlannedRun:
    """One run of the season and everything that will happen to it."""

    number: int
    start: datetime
    stop: datetime
    streams: dict[str, str]
    tier0_knows: bool
    express_done: datetime
    uploads: dict[str, datetime]  # tag → when the harvest's upload arrives (absent: never)
    acks: dict[str, datetime]  # tag → when an AlCa expert accepts it without payload
    expert_delay: timedelta = timedelta(hours=2)  # how long experts take to answer a pause for this run

    @property
    def nominal_lock(self) -> datetime:
        return self.stop + LOCK_AFTER

    def producers(self) -> set[str]:
        return {p for skim in self.streams.values() for p in skim.split(",")}


@dataclass
class Plan:
    seed: int
    runs: list[PlannedRun]
    outages: list[tuple[datetime, datetime]]  # the data service down
    person_pauses: list[tuple[datetime, datetime]]  # the Offline Run Manager's pauses
    end: datetime


def plan_season(days: float, seed: int) -> Plan:
    """A season of ``days`` of data taking (about 17 runs a day), drawn from ``seed``."""
    rng = random.Random(seed)
    runs: list[PlannedRun] = []
    t, number = START, 390000
    producers_tags = {p: tag for _s, p, tag, _k in PCL_TABLE}
    while t < START + days * 24 * H:
        number += rng.choice([1, 1, 1, 2, 3, 7])  # run-number gaps: runs that never reached Tier0
        kind = rng.choices(["collision", "cosmics", "hi"], [0.8, 0.15, 0.05])[0]
        streams = {"collision": COLLISION, "cosmics": COSMICS, "hi": HEAVY_IONS}[kind]
        length = timedelta(hours=rng.uniform(0.2, 2.0))
        start, stop = t, t + length
        backlog = timedelta(hours=rng.uniform(6, 14)) if rng.random() < 0.05 else timedelta(0)
        express_done = stop + timedelta(hours=rng.uniform(1, 4)) + backlog
        harvest = min(express_done, stop + HARVEST_FALLBACK)
        uploads: dict[str, datetime] = {}
        acks: dict[str, datetime] = {}
        configured = {p for skim in streams.values() for p in skim.split(",")}
        for producer, tag in producers_tags.items():
            if producer not in configured:
                continue
            fate = rng.choices(["on_time", "late", "missing"], [0.97, 0.015, 0.015])[0]
            if fate == "on_time":
                uploads[tag] = harvest + timedelta(hours=rng.uniform(0.3, 2.5))
            elif fate == "late":  # stuck in a backlog: after the nominal lock
                uploads[tag] = stop + LOCK_AFTER + timedelta(hours=rng.uniform(0.2, 6))
            else:  # vetoed or failed: nothing comes; an expert accepts it after a delay
                acks[tag] = stop + GIVE_UP + timedelta(hours=rng.uniform(2, 26))
        runs.append(PlannedRun(number, start, stop, dict(streams), rng.random() > 0.02, express_done, uploads, acks,
                               timedelta(hours=rng.uniform(1, 3))))
        t = stop + timedelta(hours=rng.uniform(0.05, 0.6))
    end = t + LOCK_AFTER + 30 * H
    outages = []
    for _ in range(max(1, round(days / 10))):
        begin = START + timedelta(hours=rng.uniform(20, days * 24 + 40))
        outages.append((begin, begin + timedelta(minutes=rng.uniform(10, 240))))
    pauses = []
    for _ in range(max(1, round(days / 15))):
        begin = START + timedelta(hours=rng.uniform(30, days * 24 + 40))
        pauses.append((begin, begin + timedelta(hours=rng.uniform(0.5, 3))))
    return Plan(seed, runs, outages, pauses, end)


#: What an AlCa expert answers when SpyAgency's pause names a calibration that will not come as it should.
ANSWERABLE = {"missing", "ambiguous", "late", "vetoed", "failed", "unknown", "needs_review"}


class Experts:
    """AlCa experts who answer SpyAgency's pause: an hour or three after it, they accept each calibration of
    the paused run that is missing, ambiguous, late or failed (as they would after a look at it)."""

    def __init__(self, agency: Agency, acked: dict[tuple[int, str], datetime], plan: Plan) -> None:
        self.agency, self.acked = agency, acked
        self.delays = {run.number: run.expert_delay for run in plan.runs}
        self.seen: dict[int, datetime] = {}  # run → when its pause was first seen, plus the experts' delay

    def answer(self, now: datetime) -> None:
        from spyagency.passes.steer import steering_status
        from spyagency.store.queries import workflow_states

        with self.agency.store.session() as session:
            status = steering_status(session, self.agency.policy, now)
            last = status.picture.last_action
            if last is None or last.action != "pause" or last.sent_at is None or last.run is None:
                return
            run = last.run
            states = workflow_states(session, run)
        due = self.seen.setdefault(run, now + self.delays.get(run, 2 * H))
        if now < due:
            return
        tags = {wf.name: wf.tag for wf in self.agency.policy.workflows}
        for name, state in states.items():
            if state.done or state.state not in ANSWERABLE:
                continue
            kind = AckKind.ACCEPT if state.state == "ambiguous" else AckKind.ACCEPT_WITHOUT_PAYLOAD
            try:
                acknowledge(self.agency.store, self.agency.policy, run=run, workflow=name, kind=kind,
                            author="alca-expert", comment="looked at it: prompt reco may go", now=now)
            except InputRefused:
                continue
            self.acked[(run, tags.get(name, name))] = now


@dataclass
class PauseExcess:
    """SpyAgency's paused hours that the oracle's pauses do not match, by where they fall."""

    before_h: float = 0.0  # a pause of SpyAgency's that began before the oracle's (the margin before a lock)
    after_h: float = 0.0  # ... that ended after the oracle's (seeing the run ready, deciding, resuming)
    between_h: float = 0.0  # ... that bridged a gap between two of the oracle's pauses
    unmatched_h: float = 0.0  # pauses of SpyAgency's with no oracle pause in them at all
    oracle_only_h: float = 0.0  # the oracle's paused hours that SpyAgency was not paused for


@dataclass
class SeasonReport:
    """What the season shows, per promise."""

    runs: int
    locked: int
    premature_locks: list[str]
    writes_over_a_person: list[str]
    duplicate_writes: list[str]
    spyagency_pause_hours: float
    oracle_pause_hours: float
    delays_h: list[float]  # prompt-reco delay SpyAgency added per run, hours
    oracle_delays_h: list[float]
    unnecessary_pauses: int
    pauses: int
    cycles: int
    wall_s: float
    notes: list[str] = field(default_factory=list)
    #: SpyAgency's pauses within a minute of a person's resume of their own pause (it stood by under it)
    pauses_after_a_persons_resume: list[str] = field(default_factory=list)
    excess: PauseExcess = field(default_factory=PauseExcess)

    @property
    def ratio(self) -> float:
        return self.spyagency_pause_hours / self.oracle_pause_hours if self.oracle_pause_hours else float("inf")


def play(plan: Plan, poll_every: timedelta = 10 * MIN, policy: Policy | None = None,
         progress: Callable[[str], None] | None = None, keep_store: Path | None = None) -> SeasonReport:
    """Play ``plan`` with SpyAgency steering; return the report (and copy the store to ``keep_store``)."""
    import time

    policy = policy or load_policy()
    started = time.monotonic()
    logger = logging.getLogger("spyagency")
    level = logger.level
    logger.setLevel(logging.CRITICAL)  # a season logs thousands of expected failures
    try:
        return _play(plan, poll_every, policy, progress, started, keep_store)
    finally:
        logger.setLevel(level)  # the tests after a season still hear SpyAgency's log


def _play(plan: Plan, poll_every: timedelta, policy: Policy, progress: Callable[[str], None] | None,
          started: float, keep_store: Path | None) -> SeasonReport:
    import time

    with tempfile.TemporaryDirectory(prefix="spyagency-season-") as tmp:
        workdir = Path(tmp)
        calibrations = [Calibration(s, p, tag, kind, "prompt" if tag in PROMPT_SYNCHRONIZED else "pcl")
                        for s, p, tag, kind in PCL_TABLE]
        world = ReferenceWorld(workdir, calibrations, START)
        clock = ManualClock(START)
        url = f"sqlite:///{workdir / 'store.db'}"
        Store(url).migrate()
        agency = Agency(Settings(db_url=url, tier0_url=world.tier0_url, conddb_url=world.conddb_url,
                                 dqm_url=world.tier0_url.removesuffix("t0wmadatasvc/prod/"), http_retries=0,
                                 http_timeout_s=2.0, steer_mode="sql", tier0_control_db_url=world.switch_url,
                                 switch_rest_lag_minutes=0, lookback_hours=24 * 4), clock=clock, policy=policy)
        try:
            cycles, own, acked, person_rows = _drive(plan, world, agency, clock, poll_every, progress)
            # judged by what the world requires (the shipped policy's calibrations), whatever policy SpyAgency runs
            report = _judge(plan, world, agency, load_policy(), own, acked, person_rows)
            if keep_store is not None:
                with sqlite3.connect(workdir / "store.db") as source, sqlite3.connect(keep_store) as copy:
                    source.backup(copy)
        finally:
            agency.close()
            world.close()
    report.cycles, report.wall_s = cycles, time.monotonic() - started
    return report


def _drive(plan: Plan, world: ReferenceWorld, agency: Agency, clock: ManualClock, poll_every: timedelta,
           progress: Callable[[str], None] | None) -> tuple[int, dict[tuple[int, str], datetime],
                                                           dict[tuple[int, str], datetime], list[datetime]]:
    events: list[tuple[datetime, int, str, Callable[[], None]]] = []
    own: dict[tuple[int, str], datetime] = {}
    acked: dict[tuple[int, str], datetime] = {}
    person_rows: list[datetime] = []

    def upload(run: PlannedRun, tag: str) -> None:
        if world.fcsr() <= run.number and world.upload(run.number, tag):
            own[(run.number, tag)] = world.now
        else:
            world.upload(run.number, tag)  # late: moved onto the first conditions-safe run, or refused

    def expert_accepts(run: PlannedRun, tag: str) -> None:
        if (run.number, tag) in own:
            return
        names = [wf.name for wf in agency.policy.workflows if wf.tag == tag]
        for name in names:
            try:
                acknowledge(agency.store, agency.policy, run=run.number, workflow=name,
                            kind=AckKind.ACCEPT_WITHOUT_PAYLOAD, author="alca-expert",
                            comment="harvest vetoed or failed: prompt reco goes without it", now=clock.now())
                acked[(run.number, tag)] = clock.now()
            except InputRefused:
                pass  # refused (not tracked yet, or Tier0 locked it already): tried again an hour later

    def person(enabled: bool) -> None:
        newest_is_own_pause = person_rows and not world.switch_enabled()
        if enabled and not newest_is_own_pause:
            return
        if not enabled and not world.switch_enabled():
            return  # already paused (by SpyAgency): the shifter leaves it
        watching = enabled and standing_by(agency.store, agency.policy, clock.now()) is not None
        world.person_sets_switch(enabled, "orm-shifter")
        if not enabled:
            person_rows.append(world.now)
        else:
            person_rows.clear()
        if watching:  # SpyAgency's switch watch (Agency.watch_for_release) sees the resume at its next read
            seen = world.now + timedelta(seconds=agency.settings.switch_watch_s)
            bisect.insort(events, (seen, 0, "watch", lambda: agency.isolated("steer", agency.steer)),
                          key=lambda e: (e[0], e[1]))

    experts = Experts(agency, acked, plan)
    for run in plan.runs:
        events.append((run.start, run.number, "start",
                       lambda r=run: world.start_run(r.number, dict(r.streams), r.tier0_knows)))
        events.append((run.stop, run.number, "stop", lambda r=run: world.stop_run(r.number)))
        events.append((run.express_done, run.number, "express", lambda r=run: world.express_done(r.number)))
        for tag, at in run.uploads.items():
            events.append((at, run.number, "upload", lambda r=run, t=tag: upload(r, t)))
        for tag, at in run.acks.items():
            for retry in range(3):
                events.append((at + retry * H, run.number, "ack", lambda r=run, t=tag: expert_accepts(r, t)))
    for begin, end in plan.outages:
        events.append((begin, 0, "down", lambda: setattr(world, "tier0_down", True)))
        events.append((end, 0, "up", lambda: setattr(world, "tier0_down", False)))
    for begin, end in plan.person_pauses:
        events.append((begin, 0, "person-pause", lambda: person(False)))
        events.append((end, 0, "person-resume", lambda: person(True)))
    events.sort(key=lambda e: (e[0], e[1]))
    now, cycles, cursor = START, 0, 0
    last_day = -1
    while now < plan.end:
        now += poll_every
        while cursor < len(events) and events[cursor][0] <= now:
            when, _n, _what, action = events[cursor]
            world.advance(when)
            clock.current = when
            action()
            cursor += 1
        world.advance(now)
        clock.current = now
        agency.isolated("observe and decide", agency.observe_and_decide)
        agency.isolated("steer", agency.steer)
        experts.answer(now)
        cycles += 1
        day = int((now - START) / (24 * H))
        if progress is not None and day != last_day:
            last_day = day
            progress(f"day {day}: {sum(1 for r in world.runs.values() if r.locked_at)} runs locked, "
                     f"{cycles} cycles")
    return cycles, own, acked, person_rows


def _judge(plan: Plan, world: ReferenceWorld, agency: Agency, policy: Policy, own: dict[tuple[int, str], datetime],
           acked: dict[tuple[int, str], datetime], _person_rows: list[datetime]) -> SeasonReport:
    from spyagency.store.tables import OutboxRow

    waited = {wf.tag: wf for wf in policy.workflows if wf.required and wf.on_give_up == "block"}
    producer_of = {tag: wf.producer for tag, wf in waited.items()}
    premature: list[str] = []
    locked = 0
    for run in plan.runs:
        state = world.runs.get(run.number)
        if state is None or state.locked_at is None:
            continue
        locked += 1
        for tag in waited:
            if producer_of[tag] not in run.producers():
                continue
            arrived = own.get((run.number, tag))
            accepted = acked.get((run.number, tag))
            if not ((arrived and arrived <= state.locked_at) or (accepted and accepted <= state.locked_at)):
                premature.append(f"run {run.number} locked at {state.locked_at:%m-%d %H:%M} without {tag}")
    # the switch rows, and whose each is (SpyAgency's from its recorded change_times)
    with agency.store.session() as session:
        ours: dict[datetime, tuple[str, int | None]] = {}
        why: dict[datetime, str] = {}
        for row in session.query(OutboxRow).filter(OutboxRow.action.in_(("pause", "resume"))):
            for value in (row.detail or {}).get("change_times", []):
                ours[datetime.fromisoformat(value).replace(tzinfo=None)] = (row.action, row.run)
                why[datetime.fromisoformat(value).replace(tzinfo=None)] = row.reason
    reasons: list[str] = []
    rows = [(r.status, r.change_time) for r in agency.control().rows()]
    over_person: list[str] = []
    duplicates: list[str] = []
    previous: tuple[int, datetime] | None = None
    resumed_over: set[int] = set()
    unnecessary = 0
    taken_back: list[str] = []
    our_pauses: list[tuple[datetime, datetime]] = []
    for index, (status, at) in enumerate(rows):
        mine = ours.get(at)
        if mine is not None and previous is not None:
            prev_mine = ours.get(previous[1])
            if status == 1 and previous[0] == 0 and prev_mine is None:
                over_person.append(f"SpyAgency resumed at {at} over a person's pause of {previous[1]}")
            if status == 0 and mine[1] in resumed_over:
                over_person.append(f"SpyAgency paused again at {at} for run {mine[1]} after a person resumed")
            if prev_mine is not None and previous[0] == status:
                duplicates.append(f"two SpyAgency rows in a row with status {status} at {previous[1]} and {at}")
        if mine is None and status == 1 and previous is not None and ours.get(previous[1], ("", None))[0] == "pause":
            resumed_over.add(ours[previous[1]][1] or 0)
        if mine is not None and status == 0 and previous is not None and previous[0] == 1 and \
                ours.get(previous[1]) is None and at - previous[1] < MIN:
            taken_back.append(f"run {mine[1]}: a person resumed at {previous[1]:%m-%d %H:%M:%S}, SpyAgency paused "
                              f"at {at:%H:%M:%S}")
        if mine is not None and status == 0:
            reasons.append(f"pause {at:%m-%d %H:%M} for run {mine[1]}: {why.get(at, '')[:160]}")
            until = rows[index + 1][1] if index + 1 < len(rows) else plan.end.replace(tzinfo=None)
            our_pauses.append((at, until))
            run = next((r for r in plan.runs if r.number == mine[1]), None)
            if run is not None and _ready_at(run, waited, producer_of) <= run.nominal_lock.replace(tzinfo=None):
                unnecessary += 1
        previous = (status, at)
    oracle_hours, oracle_locks, oracle_pauses = _oracle(plan, waited, producer_of)
    baseline = _locks(plan, [])
    delays, oracle_delays = [], []
    for run in plan.runs:
        state = world.runs.get(run.number)
        if state is None or state.locked_at is None or run.number not in baseline:
            continue
        locked_at = state.locked_at.replace(tzinfo=None)
        delays.append(max(0.0, (locked_at - baseline[run.number]).total_seconds() / 3600))
        oracle_delays.append(max(0.0, (oracle_locks[run.number] - baseline[run.number]).total_seconds() / 3600))
    pause_hours = sum((until - at).total_seconds() for at, until in our_pauses) / 3600
    return SeasonReport(len(plan.runs), locked, premature, over_person, duplicates, pause_hours, oracle_hours,
                        delays, oracle_delays, unnecessary, len(our_pauses), 0, 0.0, reasons, taken_back,
                        _excess(our_pauses, oracle_pauses))


def _ready_at(run: PlannedRun, waited: dict[str, object], producer_of: dict[str, str]) -> datetime:
    """When every calibration the run waits for is in or accepted (the oracle's knowledge). A calibration that
    never comes is accepted by the experts when they look at it on their own, or the experts' delay after a
    pause at the run's lock asks them, whichever is first (the same experts as the season's)."""
    moments = [run.stop]
    answered_at_lock = run.nominal_lock + run.expert_delay
    for tag in waited:
        if producer_of[tag] not in run.producers():
            continue
        upload = run.uploads.get(tag)
        if upload is not None and upload <= run.stop + GIVE_UP:
            moments.append(upload)  # in before the PCL give-up: nothing for anyone to answer
        else:  # missing at the give-up: in when it lands, or accepted when the experts look, whichever is first
            answered = min(run.acks.get(tag, answered_at_lock), answered_at_lock)
            moments.append(min(upload, answered) if upload is not None else answered)
    return max(moments).replace(tzinfo=None)


def _oracle(plan: Plan, waited: dict[str, object],
            producer_of: dict[str, str]) -> tuple[float, dict[int, datetime], list[tuple[datetime, datetime]]]:
    """The oracle pauses from a run's nominal lock until it is ready: its paused hours, its lock times and
    its pauses."""
    intervals = sorted((r.nominal_lock.replace(tzinfo=None), _ready_at(r, waited, producer_of))
                       for r in plan.runs if r.tier0_knows
                       and _ready_at(r, waited, producer_of) > r.nominal_lock.replace(tzinfo=None))
    merged: list[tuple[datetime, datetime]] = []
    for begin, end in intervals:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    hours = sum((end - begin).total_seconds() for begin, end in merged) / 3600
    return hours, _locks(plan, merged), merged


def _excess(ours: list[tuple[datetime, datetime]], oracle: list[tuple[datetime, datetime]]) -> PauseExcess:
    """Where SpyAgency's paused hours differ from the oracle's, pause by pause."""
    def hours(delta: timedelta) -> float:
        return max(0.0, delta.total_seconds() / 3600)

    excess = PauseExcess()
    for begin, end in ours:
        met = [(b, e) for b, e in oracle if b < end and e > begin]
        if not met:
            excess.unmatched_h += hours(end - begin)
            continue
        excess.before_h += hours(met[0][0] - begin)
        excess.after_h += hours(end - met[-1][1])
        excess.between_h += sum(hours(b - e) for (_b, e), (b, _e) in itertools.pairwise(met))
    for begin, end in oracle:
        covered = sum(hours(min(end, e) - max(begin, b)) for b, e in ours if b < end and e > begin)
        excess.oracle_only_h += hours(end - begin) - covered
    return excess


def _locks(plan: Plan, paused: list[tuple[datetime, datetime]]) -> dict[int, datetime]:
    """Tier0's lock times in run order when the switch is off during ``paused`` (and the people's pauses)."""
    off = sorted([*paused, *((b.replace(tzinfo=None), e.replace(tzinfo=None)) for b, e in plan.person_pauses)])
    locks: dict[int, datetime] = {}
    previous_release: datetime | None = None
    for run in sorted(plan.runs, key=lambda r: r.number):
        if not run.tier0_knows:
            continue
        at = run.nominal_lock.replace(tzinfo=None)
        if previous_release is not None:
            at = max(at, previous_release)
        for begin, end in off:
            if begin <= at < end:
                at = end
        locks[run.number] = at
        previous_release = max(at, (run.stop + RELEASE_AFTER).replace(tzinfo=None))
    return locks
