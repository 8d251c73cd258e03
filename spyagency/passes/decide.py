"""Decide: turn stored observations into verdicts for every active run, and record them."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from spyagency.core.attribution import Grouped, attribute_all, group_by_run
from spyagency.core.finalize import is_final
from spyagency.core.models import RunVerdict
from spyagency.core.quality import QualityScore, score_keys, score_run
from spyagency.core.replay import DecisionInputs
from spyagency.passes.one_run import decide_one
from spyagency.policy import Policy, QualityWatch
from spyagency.store import Session, Store, quality
from spyagency.store import observations as obs
from spyagency.store.decision_records import record_decisions
from spyagency.store.verdicts import save_verdicts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DecideResult:
    """What one decision pass did."""

    verdicts: tuple[RunVerdict, ...]
    changed: tuple[RunVerdict, ...]
    duration_s: float
    #: runs whose verdict was not saved: their facts changed while deciding (the next pass decides them)
    stale: tuple[int, ...] = ()


def decide_all(store: Store, policy: Policy, now: datetime, only: Sequence[int] | None = None) -> DecideResult:
    """Decide every active run (or the active ones of ``only``) at ``now``; record verdicts and history.

    A run whose facts changed after they were read (an expert's hold committed meanwhile, say)
    keeps its newer verdict: this one is not saved, and the next pass decides it again.
    """
    started = time.perf_counter()
    with store.session() as session:
        runs = obs.unfinished_run_numbers(session)
        if only is not None:
            runs = [r for r in runs if r in set(only)]
        versions = obs.facts_versions(session, runs)
        missing = obs.missing_tags(session)
        observations = obs.load_observations(session, runs, *attributed_uploads(session, policy, runs), missing)
        scores = quality_scores(session, policy, runs)
        for (run, workflow), score in scores.items():
            observations[run].quality[workflow] = score
        tier0 = obs.tier0_global(session)
        health = obs.health(session)
        verdicts = tuple(decide_one(observations[r], policy, tier0, health, now) for r in runs)
        final = {v.run for v in verdicts if is_final(v, tier0.first_conditions_safe_run, policy)}
        saved = save_verdicts(session, verdicts, final, versions)
        # the facts each decision was made from, kept where the decision says something new (spyagency explain)
        record_decisions(session, [(DecisionInputs(observations[v.run], tier0, health, now), v) for v in verdicts],
                         policy)
    return DecideResult(verdicts, tuple(saved.changed), time.perf_counter() - started, saved.stale)


def quality_scores(session: Session, policy: Policy, runs: Sequence[int]) -> dict[tuple[int, str], QualityScore]:
    """The quality watch's word on each run's output whose DQM numbers are stored.

    A score is computed once, when the numbers arrive, and stored with the key it was computed
    under (the watch, the scoring, the runs of its history); it is computed again only when that key
    changes, so a pass reads numbers only for new outputs and for outputs whose history moved.
    """
    keys_stored = quality.scored_with(session, runs)
    fresh: dict[tuple[int, str], QualityScore] = {}
    current: dict[tuple[int, str], str] = {}
    for wf in policy.workflows:
        watch = wf.quality
        judged = sorted(run for run, workflow in keys_stored if workflow == wf.name)
        if watch is None or not judged:
            continue  # outputs of a workflow no longer in the policy or no longer watched are not judged
        windows = quality.history_windows(session, wf.name, judged, watch.history_runs)
        keys = score_keys(wf.name, watch, windows)
        current.update({(run, wf.name): key for run, key in keys.items()})
        stale = [run for run, key in keys.items() if keys_stored[(run, wf.name)] != key]
        if stale:
            fresh.update(_score(session, wf.name, watch, stale, windows))
    quality.record_scores(session, {output: (current[output], score) for output, score in fresh.items()})
    unchanged = [output for output in current if output not in fresh]
    return {**_decoded.get(session, unchanged, current), **fresh}


def _score(session: Session, workflow: str, watch: QualityWatch, runs: Sequence[int],
           windows: Mapping[int, Sequence[int]]) -> dict[tuple[int, str], QualityScore]:
    """Score ``runs``' outputs of ``workflow`` against their history windows, reading just those numbers."""
    values = quality.values_by_run(session, workflow, set(runs).union(*(windows[run] for run in runs)))
    return {(run, workflow): score_run(workflow, watch, values.get(run),
                                       [values[r] for r in windows[run] if r in values]) for run in runs}


class _DecodedScores:
    """Stored scores already read in this process, by output and the key they were computed under: an
    unchanged key means an unchanged score, so a warm process reads and decodes only what is new."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self._found: dict[tuple[int, str], tuple[str, QualityScore]] = {}

    def get(self, session: Session, outputs: Sequence[tuple[int, str]],
            keys: Mapping[tuple[int, str], str]) -> dict[tuple[int, str], QualityScore]:
        found = {}
        missing = []
        for output in outputs:
            hit = self._found.get(output)
            if hit is not None and hit[0] == keys[output]:
                found[output] = hit[1]
            else:
                missing.append(output)
        if missing:
            read = quality.stored_scores(session, missing)
            if len(self._found) + len(read) > self.size:
                self._found.clear()
            for output, score in read.items():
                self._found[output] = (keys[output], score)
            found.update(read)
        return found


_decoded = _DecodedScores()


def attributed_uploads(session: Session, policy: Policy, runs: Sequence[int]) -> tuple[Grouped, Grouped]:
    """The uploads of ``runs`` and those that may be their late uploads, attributed from stored facts."""
    if not runs:
        return {}, {}
    lowest = min(runs)
    line = obs.run_line(session, lowest)
    lock_delay, tolerance = policy.deadlines.lock_delay, policy.sources.clock_tolerance
    attributed = attribute_all(obs.uploads_from(session, lowest), obs.tag_info(session),
                               obs.fcsr_history(session), line, lock_delay, tolerance, obs.first_run(session))
    wanted = set(runs)
    return group_by_run(attributed, [e for e in line if e.run in wanted], lock_delay, tolerance)
