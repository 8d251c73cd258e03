"""Whether a reading can be believed. A reading is evidence, not truth: SpyAgency believes "done", "nothing to
wait for" and "can go" only from a reading that is complete, plausible and consistent with what it already
knows. Each rule here says why a reading is not believed, in words shown to operators; a doubtful reading
resolves toward the earlier lock and the safer switch (the source's reading is a fault, the last plausible
value stays), never toward more time or a resume.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from spyagency.core.words import utc_minute

#: a stop time this far ahead of our clock is not a stop yet (clock skew allowed for)
STOP_AHEAD_TOLERANCE = timedelta(minutes=1)

#: Tier0's run numbers are ^[1-9][0-9]{1,6}$ (t0wmadatasvc's validation).
MAX_RUN = 9_999_999


def fcsr_problem(reading: int, last: int | None, highest_run: int | None) -> str | None:
    """Why a ``firstconditionsaferun`` reading cannot be believed, or None. It only moves up, in run order, and
    never past the highest run known + 1 (CMS.md: "How complete an answer is"); ``last`` is the last value
    believed, ``highest_run`` the highest run RUN_INFO has shown."""
    if not 1 <= reading <= MAX_RUN:
        return f"firstconditionsaferun answered {reading}, which is not a run number"
    if last is not None and reading < last:
        return (f"firstconditionsaferun answered {reading}, below the {last} it answered before: it only moves "
                f"up, so this reading is not believed")
    if highest_run is not None and reading > highest_run + 1:
        return (f"firstconditionsaferun answered {reading}, past the highest run known ({highest_run}) + 1: "
                f"this reading is not believed")
    return None


def configuration_shrank(before: Mapping[str, Iterable[str]], now: Mapping[str, Iterable[str]]) -> str | None:
    """How an express configuration read ``now`` lacks what was read ``before``, or None. Tier0 only adds:
    a stream is configured when its first data arrives, and producers are added, never taken away; an
    answer that lists less is partial (a backlog, a cached reply), so it is not believed."""
    lost = sorted(stream for stream in before if stream not in now)
    if lost:
        return (f"lists no stream {', '.join(lost)}, which it listed before: a partial answer (a transfer backlog "
                f"or a cached reply), not believed")
    fewer = sorted(stream for stream, producers in before.items() if not set(producers) <= set(now[stream]))
    if fewer:
        return (f"lists fewer producers in {', '.join(fewer)} than before: a partial answer, not believed")
    return None


def count_problem(value: float) -> str | None:
    """Why a DQM status bin's content is not a count, or None: bins are counts or flags, so NaN, an infinity
    or a negative number is a broken reading, not a verdict."""
    if math.isnan(value) or math.isinf(value):
        return f"{value} is not a count"
    if value < 0:
        return f"{value:g} is negative, not a count"
    return None


def configuration_since(before: datetime | None, producers_before: Mapping[str, Iterable[str]],
                        producers: Mapping[str, Iterable[str]], observed_at: datetime | None,
                        stop: datetime | None) -> datetime | None:
    """The first read after the run's stop that gave the express configuration read now, given the one
    stored (``before``, for ``producers_before``); None while no read after the stop gave it (a read at the
    stop's very instant may predate its last stream's data: it is not after)."""
    if stop is None or observed_at is None or observed_at <= stop:
        return None
    same = ({s: set(p) for s, p in producers_before.items()} == {s: set(p) for s, p in producers.items()})
    return before if before is not None and same else observed_at


def configuration_doubt(run: int, since: datetime | None, observed_at: datetime | None,
                        gap: timedelta) -> str | None:
    """Why Tier0's express configuration of a stopped run is not believed complete yet, or None. Tier0
    configures each stream when its first data arrives, and cmsweb may answer from a cache (300 s): a
    configuration is believed once two reads after the stop, at least ``gap`` apart, agree."""
    if since is None or observed_at is None:
        return f"Tier0's express configuration of run {run} has not been read since the run stopped"
    if observed_at - since < gap:
        believed = utc_minute(since + gap)
        return (f"Tier0's express configuration of run {run} was read once since the run stopped; it is "
                f"believed when a read from {believed} on agrees (a stream is configured when its first data "
                f"arrives, and cmsweb may answer from a cache)")
    return None


def believed_stop(stored: datetime | None, reading: datetime | None, now: datetime) -> datetime | None:
    """The stop time to believe from RUN_INFO's ``reading`` and the one ``stored``: a stop time never moves
    later, so a reading that jumps ahead keeps the earlier (the earlier lock), and one ahead of our clock is
    taken as now; a reading that loses its stop keeps the stored one."""
    known = [t for t in (stored, reading) if t is not None]
    if not known:
        return None
    earliest = min(known)
    return now if earliest > now + STOP_AHEAD_TOLERANCE else earliest


def dqm_doubt(first_seen: datetime | None, observed_at: datetime, gap: timedelta) -> str | None:
    """Why a DQM reading that lets a run go without a payload ("no update by design") is not believed yet,
    or None: a single reading of a histogram can be a broken or cached one, so it is believed once a read
    at least ``gap`` after the first that gave it agrees."""
    if first_seen is None:
        return "read once; believed when a later read agrees"
    if observed_at - first_seen < gap:
        return (f"read once at {utc_minute(first_seen)}; believed when a read from {utc_minute(first_seen + gap)} "
                f"on agrees")
    return None
