"""What the operators' console shows, built from the store: the steering banner, the sources' health,
the runs × workflows grid, a run's timeline and the PCL latencies.

Read models only: every fact here was decided elsewhere (readiness, steering) or observed by a poll.
The console arranges them so that a Tier0 operator sees at a glance whether releases are paused,
why, and which run and workflow to chase.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from spyagency.core.certificate import ExpiryWarning, certificate_note
from spyagency.core.models import (
    OutboxEntry,
    ResumeOverride,
    RunState,
    RunSummary,
    Source,
    StateChangeRecord,
    WorkflowState,
    WorkflowStatus,
)
from spyagency.core.quality import QualityScore, score_run
from spyagency.core.readiness import source_problem
from spyagency.core.steering import PAUSE
from spyagency.core.words import utc_minute
from spyagency.passes.steer import steering_status
from spyagency.policy import Policy
from spyagency.store import Session
from spyagency.store import quality as quality_store
from spyagency.store.observations import tier0_global
from spyagency.store.queries import history, list_runs, source_statuses, uploads_in
from spyagency.views.folding import fold_not_waited
from spyagency.views.report import duration, terminal_safe, to_lock

SOURCE_LABELS = {Source.TIER0: "Tier0 Data Service", Source.CONDDB: "CondDB", Source.DQM: "DQM GUI"}



# --- the steering banner -------------------------------------------------------------------------

@dataclass(frozen=True)
class Banner:
    """Tier0's release switch and SpyAgency's part in it."""

    releasing: bool | None  # the switch as Tier0 last showed it; None: never observed
    paused_by: str | None  # "SpyAgency" or "someone else" while paused
    since: datetime | None  # when the switch took its present position, as far as SpyAgency saw
    why: str  # why it is paused (or why SpyAgency would pause)
    wants: str  # pause, resume or wait
    wants_reason: str
    next_run: int | None  # the run steering looks at: the next in Tier0's line that matters
    next_lock: datetime | None
    pending: tuple[OutboxEntry, ...]  # actions committed, not yet accepted by Tier0
    overrides: tuple[tuple[int, ResumeOverride], ...]  # operators' standing resumes in the line
    note: str  # who holds the switch when it is not SpyAgency's to move

    @property
    def headline(self) -> str:
        """One sentence an operator reads first."""
        if self.releasing is None:
            return "Tier0's release switch has not been observed yet"
        if self.releasing:
            return "Tier0 is releasing prompt reco"
        by = f" by {self.paused_by}" if self.paused_by else ""
        since = f" since {utc_minute(self.since)}" if self.since else ""
        return f"Tier0 prompt-reco releases are PAUSED{by}{since}"


def banner(session: Session, policy: Policy, now: datetime) -> Banner:
    """The steering banner at ``now``."""
    status = steering_status(session, policy, now)
    picture = status.picture
    change, last = picture.latest_change, picture.last_action
    releasing = picture.observed_enabled
    paused_by: str | None = None
    since = change.observed_at if change is not None else None
    why = status.desired.reason
    if releasing is False:
        if change is not None and not change.enabled:
            paused_by = "SpyAgency" if change.by_spyagency else "someone else"
        elif last is not None and last.action == PAUSE and last.sent_at is not None:
            paused_by = "SpyAgency"
            since = last.sent_at
        if paused_by == "SpyAgency" and last is not None and last.action == PAUSE:
            why = last.reason
        elif paused_by == "someone else":
            why = status.switch_note
    lock = next((entry.lock_time for entry in status.line if entry.run == status.desired.run), None)
    return Banner(releasing, paused_by, since, why, status.desired.action, status.desired.reason,
                  status.desired.run, lock, tuple(status.pending), tuple(sorted(status.overrides.items())),
                  status.switch_note)


# --- source health ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SourceLight:
    """One source in the health strip."""

    source: str
    label: str
    last_answer: datetime | None
    age: str  # since the last answer, in words
    problem: str | None  # None: its data counts
    certificate: str | None = None  # the grid certificate it is shown, in a line
    certificate_attention: bool = False  # expired or expiring soon

    @property
    def ok(self) -> bool:
        return self.problem is None


def source_lights(session: Session, policy: Policy, now: datetime, warn: ExpiryWarning = ExpiryWarning(),
                  wall_now: datetime | None = None) -> list[SourceLight]:
    """Tier0, CondDB and DQM: last answer, its age, why their data does not count if it does not, and the
    grid certificate they are shown, judged at ``wall_now`` (default: the real time, whatever clock the
    service runs on: the doors check certificates in real time)."""
    wall = wall_now or datetime.now(UTC)
    statuses = {s.source: s for s in source_statuses(session)}
    lights = []
    for source, label in SOURCE_LABELS.items():
        status = statuses.get(source.value)
        health = status.health() if status else None
        last = status.last_success if status else None
        age = "never"
        if last is not None:
            seconds = (now - last).total_seconds()
            age = f"{duration(seconds)} ago" if seconds >= 0 else f"{duration(-seconds)} ahead of this clock"
        note = (certificate_note(status.certificate, wall, warn)
                if status is not None and status.certificate is not None else None)
        lights.append(SourceLight(source.value, label, last, age,
                                  source_problem(health, now, policy.sources.stale_after,
                                                 policy.sources.clock_tolerance),
                                  note[0] if note else None, note[1] if note else False))
    return lights


def sources_block(lights: Sequence[SourceLight]) -> str:
    """The health strip as text, a line per source (``spyagency status``); control characters from upstream
    are shown as ``?``, never sent to the terminal."""
    lines = []
    for light in lights:
        parts = [f"{light.label:<19} {'ok    ' if light.ok else 'NOT OK'} last answer {light.age}"]
        if light.problem:
            parts.append(light.problem)
        if light.certificate:
            parts.append(("!! " if light.certificate_attention else "") + light.certificate)
        lines.append(terminal_safe(" · ".join(parts)))
    return "\n".join(lines)


# --- the grid ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GridRow:
    """One run: its verdict, a cell per workflow of the policy, and what to chase first."""

    run: RunSummary
    cells: tuple[WorkflowStatus | None, ...]  # in the policy's workflow order; None: not decided
    headline: str  # the blocking workflow first, or why the run is fine
    more: int  # how many other reasons stand behind the headline
    to_lock: str
    unusual: frozenset[str] = frozenset()  # workflows whose output the quality watch called unusual
    pinned: bool = False  # the run Tier0's paused line waits for: shown first, highlighted
    not_waited: str | None = None  # the producers a ready run does not wait for, shown on demand


@dataclass(frozen=True)
class Grid:
    """Runs × workflows, newest run first."""

    workflows: tuple[str, ...]
    rows: tuple[GridRow, ...]


def headline(run: RunSummary, workflow_order: Sequence[str]) -> tuple[str, int]:
    """What blocks ``run``, the blocking workflow named first; and how many more reasons there are. A run
    still taking data has nothing to chase yet; a producer the policy does not know is always named."""
    if run.stop_time is None and not run.release:
        return "still taking data: nothing to chase yet", 0
    order = {name: i for i, name in enumerate(workflow_order)}
    blocking = sorted((w for w in run.workflows if not w.done), key=lambda w: order.get(w.workflow, len(order)))
    if blocking:
        first = blocking[0]
        text = f"{first.workflow} {first.state.replace('_', ' ')}: {first.reason}"
        more = len(run.reasons) - 1 if len(run.reasons) > len(blocking) else len(blocking) - 1
        unlisted = [w.workflow for w in blocking[1:] if w.state == "unknown" and w.source == "policy"]
        if unlisted:  # blocks until an expert acts: never hidden behind "(+N more)"
            text += f"; also {', '.join(unlisted)}, unknown to the policy"
            more -= len(unlisted)
        return text, more
    if run.reasons:
        # run-level gates (a source down, Tier0 has not looked) come before "overdue: ..."
        gates = [r for r in run.reasons if not r.startswith("overdue:")] or list(run.reasons)
        return gates[0], len(run.reasons) - 1
    return "", 0


def configured_columns(runs: Sequence[RunSummary], policy: Policy) -> tuple[str, ...]:
    """The calibrations Tier0 configured for any of ``runs``: the policy's in its order (those applicable to
    at least one run), then producers the policy does not list, by name."""
    configured = {w.workflow for run in runs for w in run.workflows if w.state != "not_applicable"}
    known = [wf.name for wf in policy.workflows if wf.name in configured]
    return (*known, *sorted(configured - set(known)))


def grid(session: Session, policy: Policy, now: datetime, *, state: RunState | None = None,
         min_run: int | None = None, max_run: int | None = None, limit: int = 50) -> Grid:
    """The runs × workflows grid, filtered by state and run range."""
    runs = list_runs(session, state=state, min_run=min_run, max_run=max_run, limit=limit)
    names = configured_columns(runs, policy)
    tier0 = tier0_global(session)
    paused = tier0.promptreco_enabled is False
    judged = quality_store.statuses(session, [run.run for run in runs])
    chase = _run_to_chase(runs, tier0.first_conditions_safe_run) if paused else None
    rows = []
    for run in runs:
        by_name = {w.workflow: w for w in run.workflows}
        text, more = headline(run, names)
        text, not_waited = fold_not_waited(text)
        flagged = frozenset(wf for (r, wf), status in judged.items() if r == run.run and status == "unusual")
        rows.append(GridRow(run, tuple(by_name.get(name) for name in names), text, more, to_lock(run, now, paused),
                            flagged, run.run == chase, not_waited))
    rows.sort(key=lambda row: not row.pinned)  # stable: the rest stay newest first
    return Grid(names, tuple(rows))


def _run_to_chase(runs: Sequence[RunSummary], first_safe: int | None) -> int | None:
    """The run a paused Tier0's line waits for: the first one in run order, from the first conditions-safe
    run on, that may not be released (Tier0 locks runs in order, so it holds every run after it)."""
    line = sorted((r for r in runs if first_safe is None or r.run >= first_safe), key=lambda r: r.run)
    return next((r.run for r in line if not r.release and r.state != "released"), None)


# --- a run's timeline -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mark:
    """One moment of a run's life on its timeline."""

    at: datetime
    kind: str  # start, stop, express, upload, late-upload, give-up, lock, release, now
    label: str
    position: float = 0.0  # 0 (left) to 1 (right) on the drawn span
    row: int = 0  # the label's line above the axis, so that labels close together do not overlap


@dataclass(frozen=True)
class Timeline:
    """A run's life from start to release (or now), with its deadlines."""

    start: datetime
    end: datetime
    marks: tuple[Mark, ...]


def _express_done_at(changes: Sequence[StateChangeRecord]) -> datetime | None:
    """When SpyAgency first saw a workflow leave "waiting for express" (the express stream was done)."""
    waiting = WorkflowState.WAITING_EXPRESS.value
    seen = [c.at for c in changes if c.workflow is not None and c.state != waiting]
    return min(seen) if seen else None


def _upload_marks(uploads: Sequence[tuple[datetime, str]], kind: str, suffix: str, close: timedelta) -> list[Mark]:
    """One mark per upload, or per bunch of uploads that landed close together."""
    bunches: list[list[tuple[datetime, str]]] = []
    for at, name in sorted(uploads):
        if bunches and at - bunches[-1][0][0] <= close:
            bunches[-1].append((at, name))
        else:
            bunches.append([(at, name)])
    marks = []
    for bunch in bunches:
        label = f"{bunch[0][1]} upload" if len(bunch) == 1 else f"{len(bunch)} uploads"
        marks.append(Mark(bunch[0][0], kind, label + suffix))
    return marks


def timeline(session: Session, policy: Policy, run: RunSummary, now: datetime) -> Timeline:
    """The marks of ``run``'s life: start, stop, express done, each upload (on time or late against the
    lock), PCL give-up, lock, release, and now."""
    marks = [Mark(run.start_time, "start", "run start")]
    if run.stop_time is not None:
        marks.append(Mark(run.stop_time, "stop", "run stop"))
        marks.append(Mark(run.stop_time + policy.deadlines.pcl_give_up, "give-up", "PCL give-up"))
    express = _express_done_at(history(session, run.run))
    if express is not None:
        marks.append(Mark(express, "express", "express done (seen)"))
    tags = {wf.tag: wf.name for wf in policy.workflows}
    uploads = [(u.inserted_at, tags[u.tag]) for u in uploads_in(session, [run.run]) if u.tag in tags]
    on_time = [(at, name) for at, name in uploads if run.lock_time is None or at <= run.lock_time]
    late = [(at, name) for at, name in uploads if run.lock_time is not None and at > run.lock_time]
    moments = [m.at for m in marks] + [at for at, _name in uploads] + [now]
    if run.lock_time is not None:
        moments.append(run.lock_time)
    close = (max(moments) - min(moments)) / 50  # uploads nearer than this are drawn as one mark
    marks += _upload_marks(on_time, "upload", "", close) + _upload_marks(late, "late-upload", " (late)", close)
    if run.lock_time is not None:
        marks.append(Mark(run.lock_time, "lock", "prompt-reco lock"))
    if run.release_time is not None:
        marks.append(Mark(run.release_time, "release", "prompt-reco release"))
    marks.append(Mark(now, "now", "now"))
    start = min(m.at for m in marks)
    end = max(m.at for m in marks)
    span = max((end - start).total_seconds(), 1.0)
    placed = sorted((Mark(m.at, m.kind, m.label, (m.at - start).total_seconds() / span) for m in marks),
                    key=lambda m: m.at)
    return Timeline(start, end, tuple(_label_rows(placed)))


#: Label lines above the axis, and how much of the span a label takes (a label is about 100 of 1000 px).
LABEL_ROWS = 5
LABEL_WIDTH = 0.11


def _label_rows(marks: list[Mark]) -> list[Mark]:
    """Each mark with the first label line where its label clears the previous one on that line."""
    ends = [-1.0] * LABEL_ROWS  # where the last label of each line ends
    placed = []
    for mark in marks:
        row = next((r for r in range(LABEL_ROWS) if ends[r] <= mark.position - LABEL_WIDTH / 2),
                   min(range(LABEL_ROWS), key=lambda r: ends[r]))
        ends[row] = mark.position + LABEL_WIDTH / 2
        placed.append(Mark(mark.at, mark.kind, mark.label, mark.position, row))
    return placed


# --- PCL latencies ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LatencyPoint:
    """A run's upload latency for one workflow: hours from run stop to the first upload in the run."""

    run: int
    hours: float


@dataclass(frozen=True)
class WorkflowLatency:
    """A workflow's latencies over recent runs, against the PCL give-up and the lock."""

    workflow: str
    points: tuple[LatencyPoint, ...]  # oldest run first
    missing: tuple[int, ...]  # runs whose upload did not land in the run (missing, or late on a later run)
    give_up_hours: float
    lock_hours: float

    @property
    def median_hours(self) -> float | None:
        return statistics.median(p.hours for p in self.points) if self.points else None

    @property
    def worst_hours(self) -> float | None:
        return max(p.hours for p in self.points) if self.points else None


_NOTHING_LANDED = frozenset({WorkflowState.MISSING.value, WorkflowState.LATE.value})


def latencies(session: Session, policy: Policy, now: datetime, runs: int = 50) -> list[WorkflowLatency]:
    """Per workflow, the time from run stop to upload over the ``runs`` most recent stopped runs."""
    recent = [r for r in list_runs(session, limit=runs, with_workflows=True) if r.stop_time is not None]
    recent.sort(key=lambda r: r.run)
    first_upload: dict[tuple[str, int], datetime] = {}
    for upload in uploads_in(session, [r.run for r in recent]):
        first_upload.setdefault((upload.tag, upload.since_run), upload.inserted_at)
    deadlines = policy.deadlines
    lock_hours = (deadlines.reco_delay - deadlines.lock_offset) / timedelta(hours=1)
    result = []
    for wf in policy.workflows:
        points, missing = [], []
        for run in recent:
            assert run.stop_time is not None
            landed = first_upload.get((wf.tag, run.run))
            state = next((w.state for w in run.workflows if w.workflow == wf.name), None)
            if landed is not None:
                points.append(LatencyPoint(run.run, (landed - run.stop_time) / timedelta(hours=1)))
            elif state in _NOTHING_LANDED:
                missing.append(run.run)
        result.append(WorkflowLatency(wf.name, tuple(points), tuple(missing),
                                      deadlines.pcl_give_up / timedelta(hours=1), lock_hours))
    return result


# --- the quality watch ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Trend:
    """One watched number over recent runs, with this run marked."""

    name: str
    unit: str
    points: tuple[tuple[int, float], ...]  # (run, value), oldest first; the last is this run
    median: float
    spread: float
    z: float


@dataclass(frozen=True)
class QualityPanel:
    """The quality watch's word on one workflow of a run, with the trends of the numbers behind it."""

    workflow: str
    mode: str  # advisory or gate
    score: QualityScore
    trends: tuple[Trend, ...]


def quality_panels(session: Session, policy: Policy, run: int, trends: int = 3) -> list[QualityPanel]:
    """For each watched workflow of ``run`` whose numbers are stored: the score decide stored (computed
    here only if no pass has scored it yet) and the trends of the ``trends`` numbers that weigh most."""
    outputs = quality_store.scored_with(session, [run])
    stored = quality_store.stored_scores(session, list(outputs))
    panels = []
    for wf in policy.workflows:
        if wf.quality is None or (run, wf.name) not in outputs:
            continue
        window = quality_store.history_windows(session, wf.name, [run], wf.quality.history_runs)[run]
        numbers = quality_store.values_by_run(session, wf.name, {run, *window})
        past = [(r, numbers[r]) for r in window if r in numbers]
        values = numbers.get(run, {})
        score = stored.get((run, wf.name)) or score_run(wf.name, wf.quality, values, [v for _run, v in past])
        lines = []
        for feature in score.drivers[:trends]:
            if feature.name not in values:
                continue
            points = tuple((r, v[feature.name]) for r, v in past if feature.name in v) + ((run, values[feature.name]),)
            lines.append(Trend(feature.name, feature.unit, points, feature.median, feature.spread, feature.z))
        panels.append(QualityPanel(wf.name, wf.quality.mode, score, tuple(lines)))
    return panels


def unusual_outputs(session: Session, limit: int = 5) -> list[tuple[int, str]]:
    """The latest outputs the quality watch called unusual, newest first."""
    return quality_store.unusual(session, limit)
