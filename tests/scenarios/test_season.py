"""A short season (two days of data taking, until every run locked) through Tier0's real rules: SpyAgency
never lets a run lock early, never writes over a person, never writes twice, and its pauses cost about
what an oracle's would (``python -m benchmarks.season`` plays long seasons)."""

from __future__ import annotations

from benchmarks.season import report
from tests.support.season import plan_season, play


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
