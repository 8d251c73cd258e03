"""Whose harvest is an upload? Worked out only from facts the real systems provide.

The CondDB does not record which run an upload was made for: the run is only in
the upload's file name, which is not kept, and the user text is a fixed sentence
per calibration. What is observable, and what each rule rests on:

1. ``TAG.SYNCHRONIZATION``. The upload service moves a since below the first
   conditions-safe run (fcsr) up to it only for tags synchronized as prompt,
   express or hlt; for ``pcl`` tags such an upload is refused, and other
   synchronizations leave the since alone. So outside the moving kinds an IOV's
   since is the since its file carried: the upload belongs to that run.
2. Tier0 never locks a run before ``stop + RecoDelay - RecoDelayOffset`` and
   locks in run order, so fcsr at a moment ``t`` is at most the lowest run
   Tier0 holds (``run_config`` knows it) that had not reached that time. If such
   a run lies below the since run S, nothing was moved onto S. A run without
   prompt reco is not in Tier0's line (``reco_locked``) although ``run_config``
   knows it, so this rule never overrides a recorded fcsr of S or above at ``t``.
3. fcsr only moves up. SpyAgency records what it saw and when (``FcsrSpan``),
   which bounds fcsr at ``t`` from below and above. Above S: S was already
   locked when the IOV went in. Below S: nothing was moved onto S.
4. A run's own harvest cannot upload before the run stopped (AlcaHarvest runs
   once the express fileset closes, or at stop + 12 h). An IOV on S inserted
   before S stopped was moved onto S from an earlier, locked run.
5. Otherwise fcsr may have been S at ``t``: the IOV may be S's own or an
   earlier run's late upload (Tier0's or an expert's re-upload). That is
   *ambiguous*; it never counts as S's own, and an AlCa expert says which.

Every comparison between clocks (the CondDB's INSERTION_TIME, SpyAgency's
observation stamps, RUN_INFO stop times) allows ``tolerance`` in the safe direction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from spyagency.core.models import AttributedUpload, Attribution, FcsrSpan, RunLine, TagInfo, Upload
from spyagency.core.words import utc_minute

#: Synchronizations for which the upload service moves a since below fcsr up to fcsr.
MOVING_SYNCHRONIZATIONS = frozenset({"prompt", "express", "hlt"})


def fcsr_bounds(history: Sequence[FcsrSpan], moment: datetime,
                tolerance: timedelta) -> tuple[int | None, int | None]:
    """Lowest and highest value fcsr can have had at ``moment`` (None: no observation bounds it)."""
    before = [span.value for span in history if span.first_seen <= moment - tolerance]
    after = [span.value for span in history if span.last_seen >= moment + tolerance]
    return (max(before) if before else None, min(after) if after else None)


def _held_by(line: Sequence[RunLine], below: int, moment: datetime, lock_delay: timedelta,
             tolerance: timedelta) -> int | None:
    """The lowest run below ``below`` that Tier0 holds and could not have locked by ``moment``."""
    for entry in line:
        if entry.run >= below:
            return None
        if not entry.tier0_known:
            continue
        if entry.stop_time is None or moment + tolerance < entry.stop_time + lock_delay:
            return entry.run
    return None


def _nothing_below(line: Sequence[RunLine], run: int, first_run: int | None) -> bool:
    """Whether no run that could have been locked exists below ``run`` (RUN_INFO starts at ``first_run``)."""
    if first_run is None or not line or line[0].run > first_run:
        return False  # runs below what SpyAgency tracks may exist
    return not any(e.run < run and e.tier0_known for e in line)


def _earlier_candidate(line: Sequence[RunLine], below: int, moment: datetime, lock_delay: timedelta,
                       tolerance: timedelta, has_own_since: Iterable[int]) -> int | None:
    """The highest run below ``below`` that may have been locked at ``moment``, preferring one without a payload."""
    locked = [e.run for e in line if e.run < below and e.tier0_known and e.stop_time is not None
              and moment + tolerance >= e.stop_time + lock_delay]
    if not locked:
        return None
    with_payload = set(has_own_since)
    lacking = [run for run in locked if run not in with_payload]
    return max(lacking) if lacking else max(locked)



def attribute(upload: Upload, tag: TagInfo | None, history: Sequence[FcsrSpan], line: Sequence[RunLine],
              lock_delay: timedelta, tolerance: timedelta, has_own_since: Iterable[int] = (),
              first_run: int | None = None) -> AttributedUpload:
    """Say whose harvest ``upload`` is; ``line`` is the tracked runs in run order.

    ``has_own_since`` are the runs that have an upload in the same tag, used only to name the
    likeliest earlier run in the reason. ``first_run`` is the lowest run in RUN_INFO, if known.
    """
    run, at = upload.since_run, upload.inserted_at
    if tag is not None and tag.synchronization not in MOVING_SYNCHRONIZATIONS:
        return AttributedUpload(upload, Attribution.OWN,
                                f"tag {tag.name} is synchronized as {tag.synchronization!r}: "
                                f"the upload service never moves its sinces")
    low, high = fcsr_bounds(history, at, tolerance)
    held = _held_by(line, run, at, lock_delay, tolerance) if low is None or low < run else None
    if held is not None:
        return AttributedUpload(upload, Attribution.OWN,
                                f"run {held} was not locked at {utc_minute(at)}, so nothing could be moved onto "
                                f"run {run}")
    if _nothing_below(line, run, first_run):
        return AttributedUpload(upload, Attribution.OWN,
                                f"no run below {run} exists in RUN_INFO that Tier0 could have locked")
    if high is not None and high < run:
        return AttributedUpload(upload, Attribution.OWN,
                                f"the first conditions-safe run was at most {high} at {utc_minute(at)}")
    if low is not None and low > run:
        return AttributedUpload(upload, Attribution.AFTER_LOCK,
                                f"inserted {utc_minute(at)}, when the first conditions-safe run was already {low}: "
                                f"run {run} was locked")
    earlier = _earlier_candidate(line, run, at, lock_delay, tolerance, has_own_since)
    whose = f"run {earlier}" if earlier is not None else "an earlier, locked run"
    stop = next((e.stop_time for e in line if e.run == run), None)
    if stop is None or at + tolerance < stop:
        return AttributedUpload(upload, Attribution.LANDED,
                                f"inserted {utc_minute(at)}, before run {run} stopped: it is {whose}'s late upload, "
                                f"moved onto run {run} by the upload service", earlier)
    if low == high == run:
        seen = f"the first conditions-safe run was {run} at {utc_minute(at)}"
    elif low is None and high is None:
        seen = f"SpyAgency has no record of the first conditions-safe run around {utc_minute(at)}"
    else:
        seen = (f"the first conditions-safe run was between {low if low is not None else 'unknown'} and "
                f"{high if high is not None else 'unknown'} at {utc_minute(at)}")
    return AttributedUpload(upload, Attribution.AMBIGUOUS,
                            f"{seen}, so this may be run {run}'s own payload or {whose}'s late upload "
                            f"moved onto it", earlier)


def attribute_all(uploads: Iterable[Upload], tags: Mapping[str, TagInfo], history: Sequence[FcsrSpan],
                  line: Sequence[RunLine], lock_delay: timedelta, tolerance: timedelta,
                  first_run: int | None = None) -> list[AttributedUpload]:
    """Attribute every upload; ``line`` need not be sorted."""
    ordered = sorted(line, key=lambda e: e.run)
    uploads = list(uploads)
    own_runs: dict[str, set[int]] = {}
    for upload in uploads:
        own_runs.setdefault(upload.tag, set()).add(upload.since_run)
    return [attribute(u, tags.get(u.tag), history, ordered, lock_delay, tolerance, own_runs[u.tag], first_run)
            for u in uploads]


Grouped = dict[int, dict[str, tuple[AttributedUpload, ...]]]


def group_by_run(attributed: Iterable[AttributedUpload], line: Iterable[RunLine], lock_delay: timedelta,
                 tolerance: timedelta) -> tuple[Grouped, Grouped]:
    """Per run and tag: the uploads at its own since, and those that may be its late upload.

    An upload on a later run S may be run R's late upload when it is not S's own and went in
    once R could have been locked (after ``stop + lock_delay``, less the clock tolerance).
    """
    here: dict[int, dict[str, list[AttributedUpload]]] = {}
    elsewhere: list[AttributedUpload] = []
    for item in attributed:
        here.setdefault(item.upload.since_run, {}).setdefault(item.upload.tag, []).append(item)
        if item.attribution in (Attribution.LANDED, Attribution.AMBIGUOUS):
            elsewhere.append(item)
    later: dict[int, dict[str, list[AttributedUpload]]] = {}
    for entry in line:
        if entry.stop_time is None:
            continue
        locked_from = entry.stop_time + lock_delay - tolerance
        for item in elsewhere:
            if item.upload.since_run > entry.run and item.upload.inserted_at >= locked_from:
                later.setdefault(entry.run, {}).setdefault(item.upload.tag, []).append(item)

    def frozen(groups: dict[int, dict[str, list[AttributedUpload]]]) -> Grouped:
        return {run: {tag: tuple(items) for tag, items in tags.items()} for run, tags in groups.items()}

    return frozen(here), frozen(later)
