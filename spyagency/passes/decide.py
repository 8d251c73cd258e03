"""Decide: turn stored observations into verdicts for every active run, and record them."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from spyagency.core.attribution import Grouped, attribute_all, group_by_run
from spyagency.core.finalize import is_final
from spyagency.core.models import RunVerdict
from spyagency.core.quality import QualityScore, score_run
from spyagency.core.readiness import decide_run
from spyagency.core.replay import DecisionInputs
from spyagency.policy import Policy, QualityWatch
from spyagency.store import Session, Store, quality
from spyagency.store import observations as obs
from spyagency.store.decision_records import record_decisions
from spyagency.store.verdicts import save_verdicts


@dataclass(frozen=True)
class DecideResult:
    """What one decision pass did."""

    verdicts: tuple[RunVerdict, ...]
    changed: tuple[RunVerdict, ...]
    duration_s: float


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
        scores = _quality(session, policy, runs)
        for (run, workflow), score in scores.items():
            observations[run].quality[workflow] = score
        tier0 = obs.tier0_global(session)
        health = obs.health(session)
        verdicts = tuple(decide_run(observations[r], policy, tier0, health, now) for r in runs)
        final = {v.run for v in verdicts if is_final(v, tier0.first_conditions_safe_run, policy)}
        changed = tuple(save_verdicts(session, verdicts, final, versions))
        # the facts each decision was made from, kept where the decision says something new (spyagency explain)
        record_decisions(session, [(DecisionInputs(observations[v.run], tier0, health, now), v) for v in verdicts],
                         policy)
        quality.record_status(session, {key: score.status.value for key, score in scores.items()})
    return DecideResult(verdicts, changed, time.perf_counter() - started)


def _quality(session: Session, policy: Policy, runs: Sequence[int]) -> dict[tuple[int, str], QualityScore]:
    """The quality watch's word on each run's output whose DQM numbers are stored."""
    stored = quality.values_of(session, runs)
    scores = {}
    for wf in policy.workflows:
        watch = wf.quality
        judged = sorted(run for run, workflow in stored if workflow == wf.name)
        if watch is None or not judged:
            continue  # outputs of a workflow no longer in the policy or no longer watched are not judged
        pasts = quality.histories(session, wf.name, judged, watch.history_runs)
        for run in judged:
            scores[(run, wf.name)] = _scores.get(wf.name, watch, run, stored[(run, wf.name)], pasts[run])
    return scores


class _ScoreCache:
    """Scores already computed in this process. A score is a function of the run's numbers (read once,
    never changed), the watch, and which earlier runs make its history (their numbers never change
    either): so the history's run numbers and the watch's identity are enough of a key."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._scores: OrderedDict[tuple[object, ...], tuple[QualityWatch, QualityScore]] = OrderedDict()

    def get(self, workflow: str, watch: QualityWatch, run: int, values: Mapping[str, float],
            past: Sequence[tuple[int, Mapping[str, float]]]) -> QualityScore:
        key = (id(watch), workflow, run, tuple(r for r, _v in past))
        hit = self._scores.get(key)
        if hit is not None and hit[0] is watch:
            self._scores.move_to_end(key)
            return hit[1]
        score = score_run(workflow, watch, values, [v for _r, v in past])
        self._scores[key] = (watch, score)  # the watch is kept: its id cannot be reused while cached
        if len(self._scores) > self.size:
            self._scores.popitem(last=False)
        return score


_scores = _ScoreCache()


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
