"""A short season (two days of data taking, until every run locked) through Tier0's real rules: SpyAgency
never lets a run lock early, never writes over a person, never writes twice, and its pauses cost about
what an oracle's would (``python -m benchmarks.season`` plays long seasons)."""

from __future__ import annotations

from datetime import timedelta

from benchmarks.season import report
from tests.support.reference_world import LOCK_AFTER
from tests.support.season import MIN, H, Plan, plan_season, play

SECOND = timedelta(seconds=1)


def test_a_two_day_season_has_no_premature_lock_no_write_over_a_person_and_no_duplicate():
    plan = plan_season(2, seed=3)
    season = play(plan)
    report(3, 2, season)
    assert season.locked >= 0.9 * sum(1 for run in plan.runs if run.tier0_knows)  # the season ran its course
    assert season.premature_locks == []
    assert season.writes_over_a_person == []
    assert season.duplicate_writes == []
    assert season.pauses >= 1  # something went wrong that SpyAgency had to pause for
    # the figure to drive down is printed; a pause that never ends would blow it up (last run: 3.3 h against
    # the oracle's 1.3 h: an outage the oracle does not pause for, and the hour before each lock it pauses from)
    assert season.ratio < 4


def test_a_persons_resume_does_not_let_tier0_lock_a_run_spyagency_stood_by_for():
    """The Offline Run Manager pauses for reasons of their own just before SpyAgency would pause for a run
    whose calibration is stuck, and resumes after that run's lock: Tier0's feeder would lock it at its next
    30-s poll. SpyAgency, standing by under their pause, pauses within its switch watch instead."""
    base = plan_season(1, seed=3)
    runs = base.runs[:3]
    stuck = runs[1]
    tag = sorted(stuck.uploads)[0]
    stuck.uploads[tag] = stuck.nominal_lock + 3 * H  # in a backlog: lands three hours after its lock
    held = (stuck.nominal_lock - 90 * MIN, stuck.nominal_lock + 40 * MIN + 13 * SECOND)
    plan = Plan(3, runs, [], [held], runs[-1].stop + LOCK_AFTER + 6 * H)
    season = play(plan)
    report(3, 1, season)
    assert season.premature_locks == []
    assert [line for line in season.pauses_after_a_persons_resume if f"run {stuck.number}:" in line]
    assert season.writes_over_a_person == [] and season.duplicate_writes == []


def test_the_pause_cost_is_split_where_spyagency_and_the_oracle_differ():
    """The excess a season prints says why the ratio is what it is: the margin before a lock, the time
    to resume after the run is ready, pauses the oracle never needed, and the oracle's own pauses missed."""
    from datetime import datetime

    from tests.support.season import _excess

    t = datetime(2026, 6, 1)
    ours = [(t, t + 3 * H),  # an hour ahead of the oracle's pause, ten minutes after it ended
            (t + 10 * H, t + 11 * H),  # no oracle pause in it: a source down, say
            (t + 20 * H, t + 25 * H)]  # over two of the oracle's pauses, bridging the hour between them
    oracle = [(t + H, t + 2 * H + 50 * MIN), (t + 20 * H, t + 22 * H), (t + 23 * H, t + 25 * H),
              (t + 30 * H, t + 31 * H)]  # the last one SpyAgency never paused for
    excess = _excess(ours, oracle)
    assert round(excess.before_h, 3) == 1.0
    assert round(excess.after_h, 3) == round(10 / 60, 3)
    assert round(excess.unmatched_h, 3) == 1.0
    assert round(excess.between_h, 3) == 1.0
    assert round(excess.oracle_only_h, 3) == 1.0
