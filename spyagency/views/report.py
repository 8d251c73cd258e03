"""Plain-text readiness tables for the terminal."""

from __future__ import annotations

from datetime import datetime

from spyagency.core.models import RunState, RunSummary

STATE_MARK = {"ready": "READY", "released": "released", "not_ready": "not ready", "overdue": "OVERDUE"}


def terminal_safe(text: str) -> str:
    """``text`` with every control character but the newline shown as ``?``: strings from upstream (an era,
    a reason quoting an answer) never reach a terminal as escape codes."""
    return "".join(ch if ch.isprintable() or ch == "\n" else "?" for ch in text)


def time_left(deadline: datetime | None, now: datetime) -> str:
    """``2 h 05 min`` until ``deadline``, ``-1 h 10 min`` past it, ``-`` if unknown."""
    if deadline is None:
        return "-"
    seconds = int((deadline - now).total_seconds())
    sign = "-" if seconds < 0 else ""
    minutes = abs(seconds) // 60
    return f"{sign}{minutes // 60} h {minutes % 60:02d} min"


def duration(seconds: float) -> str:
    """``2 h 05 min`` (or ``45 s`` under a minute) for a non-negative duration."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    return f"{minutes // 60} h {minutes % 60:02d} min"


def to_lock(run: RunSummary, now: datetime, paused: bool = False) -> str:
    """What an operator needs in the "to lock" column: time left, or what happened at the lock.

    While Tier0 is paused it locks nothing: a run past its nominal lock waits for the resume.
    """
    if run.state == RunState.RELEASED.value:
        return "released"
    if run.lock_time is None:
        return "running" if run.stop_time is None else "–"
    left = (run.lock_time - now).total_seconds()
    if left >= 0:
        return duration(left)
    if paused and not any(reason.startswith("overdue: Tier0 locked") for reason in run.reasons):
        return f"lock held by the pause (nominal lock {run.lock_time:%Y-%m-%d %H:%M})"
    return f"lock passed {duration(-left)} ago"


def runs_table(runs: list[RunSummary], now: datetime, paused: bool = False) -> str:
    """One line per run: state, time to lock, and the first reason (``paused``: Tier0's switch is off)."""
    if not runs:
        return "no runs decided yet (run `spyagency poll --once` first)"
    lines = [f"{'run':>7}  {'state':<10} {'to lock':>22}  why"]
    for r in runs:
        why = r.reasons[0] if r.reasons else ""
        more = f" (+{len(r.reasons) - 1} more)" if len(r.reasons) > 1 else ""
        lines.append(f"{r.run:>7}  {STATE_MARK.get(r.state, r.state):<10} "
                     f"{to_lock(r, now, paused):>22}  {why}{more}")
    return "\n".join(lines)


def run_detail(r: RunSummary, now: datetime, paused: bool = False) -> str:
    """A run, its deadlines and every workflow with its reason."""

    def fmt(moment: datetime | None) -> str:
        return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"

    lines = [
        f"run {r.run} ({r.era or 'era unknown'}): {STATE_MARK.get(r.state, r.state)}"
        f" — release to prompt reco: {'yes' if r.release else 'no'}",
        f"  started {fmt(r.start_time)}, stopped {fmt(r.stop_time)}",
        f"  lock {fmt(r.lock_time)} ({to_lock(r, now, paused)}), release {fmt(r.release_time)}",
        "  reasons:",
        *[f"    - {reason}" for reason in r.reasons],
        "  workflows:",
    ]
    width = max((len(w.workflow) for w in r.workflows), default=8)
    for w in r.workflows:
        mark = "ok " if w.done else "-- "
        lines.append(f"    {mark}{w.workflow:<{width}}  {w.state:<15} [{w.source}] {w.reason}")
    return "\n".join(lines)
