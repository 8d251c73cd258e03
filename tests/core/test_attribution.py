"""Each attribution rule, and the fact it rests on (see the docstring of ``spyagency.core.attribution``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from spyagency.core.attribution import attribute, fcsr_bounds, group_by_run
from spyagency.core.models import Attribution, FcsrSpan, RunLine, TagInfo, Upload

H = timedelta(hours=1)
T = datetime(2026, 7, 1, tzinfo=UTC)
LOCK = timedelta(hours=47.5)
TOL = timedelta(minutes=5)
PROMPT = TagInfo("SiStripApvGain_PCL_v0_prompt", "run", "prompt")
PCL = TagInfo("SiStripApvGain_PCL_v0_prompt", "run", "pcl")


def upload(run: int, at: datetime) -> Upload:
    return Upload(PROMPT.name, run, run, "b" * 40, at)


def line(*runs: tuple[int, datetime | None]) -> list[RunLine]:
    return [RunLine(run, stop, True) for run, stop in runs]


def test_a_tag_the_upload_service_never_moves_is_attributed_by_its_since():
    verdict = attribute(upload(502, T + 60 * H), PCL, [], line((501, T), (502, T + 10 * H)), LOCK, TOL)
    assert verdict.attribution is Attribution.OWN and "'pcl'" in verdict.why


def test_an_earlier_run_tier0_could_not_have_locked_holds_fcsr_below_the_since():
    # 501 stopped at T: Tier0 cannot lock it before T + 47.5 h, so nothing was moved onto 502 at T + 20 h
    verdict = attribute(upload(502, T + 20 * H), PROMPT, [], line((501, T), (502, T + 10 * H)), LOCK, TOL)
    assert verdict.attribution is Attribution.OWN and "run 501 was not locked" in verdict.why


def test_a_run_tier0_does_not_know_does_not_hold_the_line():
    entries = [RunLine(501, T, False), RunLine(502, T + 10 * H, True)]
    verdict = attribute(upload(502, T + 20 * H), PROMPT, [], entries, LOCK, TOL, first_run=500)
    assert verdict.attribution is not Attribution.OWN


def test_an_unknown_run_is_skipped_but_a_known_one_after_it_still_holds_the_line():
    entries = [RunLine(500, T - 50 * H, False), RunLine(501, T, True), RunLine(502, T + 10 * H, True)]
    verdict = attribute(upload(502, T + 20 * H), PROMPT, [], entries, LOCK, TOL, first_run=500)
    assert verdict.attribution is Attribution.OWN and "run 501 was not locked" in verdict.why


def test_recorded_fcsr_below_the_since_means_nothing_was_moved():
    history = [FcsrSpan(501, T + 40 * H, T + 70 * H)]
    verdict = attribute(upload(503, T + 60 * H), PROMPT, history, line((501, T), (503, T + 10 * H)), LOCK, TOL)
    assert verdict.attribution is Attribution.OWN and "at most 501" in verdict.why
    assert verdict.upload.since_run == 503


def test_an_upload_before_its_since_run_stopped_is_an_earlier_runs_late_payload():
    history = [FcsrSpan(502, T + 48 * H, T + 70 * H)]
    verdict = attribute(upload(502, T + 50 * H), PROMPT, history, line((501, T), (502, None)), LOCK, TOL)
    assert verdict.attribution is Attribution.LANDED and verdict.earlier_run == 501


def test_an_upload_while_the_since_run_was_fcsr_after_it_stopped_is_ambiguous():
    history = [FcsrSpan(502, T + 48 * H, T + 70 * H)]
    verdict = attribute(upload(502, T + 50 * H), PROMPT, history, line((501, T), (502, T + 10 * H)), LOCK, TOL)
    assert verdict.attribution is Attribution.AMBIGUOUS and verdict.earlier_run == 501
    assert "the first conditions-safe run was 502" in verdict.why


def test_no_record_of_fcsr_while_spyagency_was_down_is_ambiguous():
    history = [FcsrSpan(501, T, T + 30 * H), FcsrSpan(503, T + 80 * H, T + 90 * H)]
    verdict = attribute(upload(502, T + 50 * H), PROMPT, history, line((501, T), (502, T + 10 * H)), LOCK, TOL)
    assert verdict.attribution is Attribution.AMBIGUOUS and "between 501 and 503" in verdict.why


def test_an_upload_after_its_since_run_was_locked_is_late_for_it():
    history = [FcsrSpan(503, T + 60 * H, T + 70 * H)]
    verdict = attribute(upload(502, T + 65 * H), PROMPT, history, line((501, T), (502, T + 10 * H)), LOCK, TOL)
    assert verdict.attribution is Attribution.AFTER_LOCK


def test_the_first_run_of_the_conddb_has_nobody_below_it():
    verdict = attribute(upload(501, T + 5 * H), PROMPT, [FcsrSpan(501, T, T + 9 * H)], line((501, T)), LOCK, TOL,
                        first_run=501)
    assert verdict.attribution is Attribution.OWN
    # without knowing where RUN_INFO starts, untracked runs below may exist
    unknown = attribute(upload(501, T + 5 * H), PROMPT, [FcsrSpan(501, T, T + 9 * H)], line((501, T)), LOCK, TOL)
    assert unknown.attribution is Attribution.AMBIGUOUS


def test_fcsr_bounds_allow_for_clock_differences():
    history = [FcsrSpan(501, T, T + 10 * H), FcsrSpan(502, T + 12 * H, T + 20 * H)]
    assert fcsr_bounds(history, T + 5 * H, TOL) == (501, 501)
    assert fcsr_bounds(history, T + 11 * H, TOL) == (501, 502)
    assert fcsr_bounds(history, T + 10 * H, TOL) == (501, 502)  # within the tolerance of the last 501 seen
    assert fcsr_bounds(history, T + 30 * H, TOL) == (502, None)


def test_a_landed_payload_is_a_late_candidate_only_for_runs_locked_when_it_arrived():
    entries = line((500, T - 10 * H), (501, T), (502, None))
    landed = attribute(upload(502, T + 49 * H), PROMPT, [FcsrSpan(502, T + 48 * H, T + 60 * H)], entries, LOCK, TOL)
    early = attribute(upload(502, T + 40 * H), PROMPT, [FcsrSpan(501, T + 38 * H, T + 42 * H)], entries, LOCK, TOL)
    here, later = group_by_run([landed], entries, LOCK, TOL)
    assert landed.attribution is Attribution.LANDED and early.attribution is Attribution.OWN
    assert set(later) == {500, 501} and later[501][PROMPT.name] == (landed,)
    assert here[502][PROMPT.name] == (landed,)
    _here, before_lock = group_by_run([early], entries, LOCK, TOL)
    assert before_lock == {}  # an own payload is nobody's late one


def test_a_recorded_fcsr_at_the_since_outranks_an_earlier_run_that_seems_unlocked():
    # 501 is known to run_config but (no prompt reco) not in Tier0's line: fcsr was seen at 502 anyway
    history = [FcsrSpan(502, T + 20 * H, T + 40 * H)]
    verdict = attribute(upload(502, T + 30 * H), PROMPT, history, line((501, T + 10 * H), (502, T + 12 * H)),
                        LOCK, TOL)
    assert verdict.attribution is Attribution.AMBIGUOUS


def test_an_ambiguous_payload_names_the_likeliest_earlier_run():
    """The run named is the highest one that may have been locked when the payload came, preferring one
    that has no payload of its own in the tag; unknown and still-running runs are never named."""
    history = [FcsrSpan(503, T + 40 * H, T + 90 * H)]
    runs = line((500, T), (501, T + 1 * H), (502, T + 2 * H), (503, T + 10 * H))
    at = T + 2 * H + LOCK  # 502 locks exactly now; 500 and 501 locked before
    named = lambda entries, own=(), when=at: attribute(  # noqa: E731
        upload(503, when), PROMPT, history, entries, LOCK, TOL, has_own_since=own).earlier_run
    assert attribute(upload(503, at), PROMPT, history, runs, LOCK, TOL).attribution is Attribution.AMBIGUOUS
    assert named(runs) == 502
    assert named(runs, own=(502,)) == 501  # 502 has its own payload: its late one is less likely
    assert named(runs, own=(500, 501, 502)) == 502  # all have one: the highest locked
    assert named(runs, when=at - TOL) == 502  # the clock tolerance counts toward locked
    assert named(runs, when=at - TOL - timedelta(seconds=1)) == 501  # 502 could not be locked yet
    unknown = [RunLine(500, T, True), RunLine(501, T + 1 * H, True), RunLine(502, T + 2 * H, False),
               RunLine(503, T + 10 * H, True)]
    assert named(unknown) == 501  # Tier0 does not know 502: not in its line
    running = [RunLine(500, T, True), RunLine(501, None, True), RunLine(503, T + 10 * H, True)]
    assert named(running) == 500  # 501 has not stopped: never locked
    assert named(line((503, T + 10 * H), (504, T + 11 * H))) is None  # nobody below: "an earlier, locked run"


def test_the_since_run_itself_is_never_named_as_the_earlier_run():
    # no record of fcsr at all, every run long locked: still, the earlier run is below the since
    runs = line((500, T), (501, T + 1 * H), (502, T + 2 * H), (503, T + 10 * H))
    verdict = attribute(upload(503, T + 10 * H + LOCK + H), PROMPT, [], runs, LOCK, TOL)
    assert verdict.attribution is Attribution.AMBIGUOUS and verdict.earlier_run == 502


def test_the_limits_of_every_clock_comparison_lean_the_safe_way():
    """Each comparison is inclusive where that keeps a run from being released on someone else's payload."""
    span = [FcsrSpan(501, T, T + 10 * H)]
    assert fcsr_bounds(span, T + TOL, TOL) == (501, 501)  # seen exactly one tolerance before: a lower bound
    assert fcsr_bounds(span, T + TOL - timedelta(seconds=1), TOL) == (None, 501)
    assert fcsr_bounds(span, T + 10 * H - TOL, TOL) == (501, 501)  # and one tolerance after: an upper bound
    assert fcsr_bounds(span, T + 10 * H - TOL + timedelta(seconds=1), TOL) == (501, None)
    # the lock-time rule: 501 (stopped at T) cannot be locked before T + 47.5 h, give or take the tolerance
    runs = line((501, T), (502, T + 10 * H))
    held = attribute(upload(502, T + LOCK - TOL - timedelta(seconds=1)), PROMPT, [], runs, LOCK, TOL)
    assert held.attribution is Attribution.OWN and "run 501 was not locked" in held.why
    at_limit = attribute(upload(502, T + LOCK - TOL), PROMPT, [], runs, LOCK, TOL)
    assert at_limit.attribution is Attribution.AMBIGUOUS


def test_each_attribution_says_why_in_words_an_expert_can_check():
    runs = line((501, T), (502, T + 10 * H))
    after = attribute(upload(502, T + 65 * H), PROMPT, [FcsrSpan(503, T + 60 * H, T + 70 * H)], runs, LOCK, TOL)
    assert after.upload.since_run == 502
    assert after.why == ("inserted 2026-07-03 17:00 UTC, when the first conditions-safe run was already 503: "
                         "run 502 was locked")
    first = attribute(upload(502, T + 60 * H), PROMPT, [], [RunLine(502, T + 10 * H, True)], LOCK, TOL, first_run=502)
    assert first.attribution is Attribution.OWN and first.upload.since_run == 502
    assert first.why == "no run below 502 exists in RUN_INFO that Tier0 could have locked"
    nobody = attribute(upload(502, T + 60 * H), PROMPT, [], [RunLine(502, T + 10 * H, True)], LOCK, TOL)
    assert nobody.attribution is Attribution.AMBIGUOUS and nobody.earlier_run is None
    assert nobody.why == ("SpyAgency has no record of the first conditions-safe run around 2026-07-03 12:00 UTC, "
                          "so this may be run 502's own payload or an earlier, locked run's late upload moved "
                          "onto it")
    named = attribute(upload(502, T + 60 * H), PROMPT, [], runs, LOCK, TOL)
    assert named.why.endswith("run 502's own payload or run 501's late upload moved onto it")


def test_late_candidates_are_runs_locked_when_the_payload_came_and_below_its_since():
    from spyagency.core.attribution import attribute_all

    entries = line((500, T - 10 * H), (501, T), (502, T + 2 * H), (503, None))
    arrived = T + LOCK - TOL  # 501 could be locked from exactly now; 502 not yet
    landed = attribute(upload(503, arrived), PROMPT, [FcsrSpan(503, T, T + 90 * H)], entries, LOCK, TOL)
    assert landed.attribution is Attribution.LANDED
    _here, later = group_by_run([landed], entries, LOCK, TOL)
    assert set(later) == {500, 501}  # not 502 (not lockable yet), not 503 (the landing run itself)
    _here, none_yet = group_by_run([attribute(upload(503, arrived - timedelta(seconds=1)), PROMPT,
                                              [FcsrSpan(503, T, T + 90 * H)], entries, LOCK, TOL)],
                                   entries, LOCK, TOL)
    assert set(none_yet) == {500}
    # attribute_all names the earlier run from the runs that have their own payload in the same tag
    both = attribute_all([upload(501, T + 20 * H), upload(503, arrived)], {PROMPT.name: PROMPT},
                         [FcsrSpan(503, T, T + 90 * H)], entries, LOCK, TOL)
    assert both[1].earlier_run == 500  # 501 has its own payload: 500's late one is likelier


def test_a_run_is_never_its_own_late_candidate_and_a_running_run_is_skipped():
    entries = line((500, T - 10 * H), (501, T), (502, T + 2 * H))
    at = T + 2 * H + LOCK  # 502 itself could be locked by now
    ambiguous = attribute(upload(502, at), PROMPT, [], entries, LOCK, TOL)
    assert ambiguous.attribution is Attribution.AMBIGUOUS
    _here, later = group_by_run([ambiguous], [RunLine(499, None, True), *entries], LOCK, TOL)
    assert set(later) == {500, 501}  # 499 is still running (skipped, not the end of the line); 502 is the since


def test_a_landed_upload_says_whose_it_is_and_keeps_the_upload():
    history = [FcsrSpan(502, T + 48 * H, T + 70 * H)]
    late = upload(502, T + 50 * H)
    verdict = attribute(late, PROMPT, history, line((501, T), (502, None)), LOCK, TOL)
    assert verdict.upload is late
    assert verdict.why == ("inserted 2026-07-03 02:00 UTC, before run 502 stopped: it is run 501's late upload, "
                           "moved onto run 502 by the upload service")


def test_a_since_run_missing_from_the_line_is_treated_as_not_stopped():
    history = [FcsrSpan(502, T + 48 * H, T + 70 * H)]
    verdict = attribute(upload(502, T + 50 * H), PROMPT, history, line((501, T)), LOCK, TOL)
    assert verdict.attribution is Attribution.LANDED


def test_an_upload_just_within_the_clock_tolerance_of_the_stop_is_not_called_landed():
    history = [FcsrSpan(502, T + 48 * H, T + 70 * H)]
    stop = T + 50 * H
    runs = line((501, T), (502, stop))
    # inserted 5 min before the stop: clocks may differ by 5 min, so it may be after the stop: ambiguous
    at_limit = attribute(upload(502, stop - TOL), PROMPT, history, runs, LOCK, TOL)
    assert at_limit.attribution is Attribution.AMBIGUOUS
    before = attribute(upload(502, stop - TOL - timedelta(seconds=1)), PROMPT, history, runs, LOCK, TOL)
    assert before.attribution is Attribution.LANDED
    # a clock that runs ahead must not turn an upload clearly before the stop into an ambiguous one
    clearly = attribute(upload(502, stop - 3 * TOL), PROMPT, history, runs, LOCK, TOL)
    assert clearly.attribution is Attribution.LANDED


def test_a_half_known_first_conditions_safe_run_is_said_as_such():
    runs = line((501, T), (502, T + 10 * H))
    # seen at 501 until an hour before the upload, then not again: only a lower bound
    only_low = attribute(upload(502, T + 60 * H), PROMPT, [FcsrSpan(501, T + 40 * H, T + 59 * H)], runs, LOCK, TOL)
    assert only_low.attribution is Attribution.AMBIGUOUS
    assert only_low.why.startswith("the first conditions-safe run was between 501 and unknown at "), only_low.why
    # first seen (at 503) only after the upload: only an upper bound
    only_high = attribute(upload(502, T + 60 * H), PROMPT, [FcsrSpan(503, T + 70 * H, T + 80 * H)], runs, LOCK, TOL)
    assert only_high.attribution is Attribution.AMBIGUOUS
    assert only_high.why.startswith("the first conditions-safe run was between unknown and 503 at "), only_high.why
