"""Replay any decision: each decision is re-derived from the facts stored with it, and a new policy can be
tried over a recorded period."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.scenario import Outcome, SimRun, all_streams
from spyagency.cli import main
from spyagency.store.decision_records import decisions_between
from spyagency.views.explain import explain

from ..conftest import START, make_world
from ..support.watches import policy_believing_first_read, policy_text_believing_first_read

H = timedelta(hours=1)
REPLAYED: Counter[str] = Counter()
OUTCOMES = [None, Outcome.VETOED, Outcome.LATE, Outcome.MISSING, Outcome.NO_PAYLOAD]


@pytest.fixture(autouse=True)
def cli_policy(tmp_path, monkeypatch) -> None:
    """The commands read the ``policy`` fixture's policy, the one these worlds were decided under."""
    monkeypatch.setenv("SPYAGENCY_POLICY", str(policy_believing_first_read(tmp_path)))


@settings(max_examples=6, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(outcomes=st.lists(st.sampled_from(OUTCOMES), min_size=2, max_size=3),
       steps=st.lists(st.sampled_from([2, 5, 11, 17]), min_size=3, max_size=6))
def test_every_recorded_decision_replays_to_exactly_what_was_stored(tmp_path_factory, policy, outcomes, steps):
    tmp = tmp_path_factory.mktemp("replay")
    runs = [SimRun(386925 + i, START - (12 - 3 * i) * H, START - (10 - 3 * i) * H, all_streams(policy),
                   {"SiPixelAli" if outcome in (Outcome.VETOED, Outcome.NO_PAYLOAD) else "SiStripGains": outcome}
                   if outcome else {}) for i, outcome in enumerate(outcomes)]
    world = make_world(tmp, policy, runs)
    try:
        offset = timedelta(0)
        for step in steps:  # observations arrive through the real sources, store and decision
            offset += step * H
            world.at(offset)
            world.agency.steer()
        with world.store.session() as session:
            records = decisions_between(session, START - 100 * H, START + 200 * H)
        assert records, "decisions were recorded"
        for record in records:
            explanation = explain(record, policy)
            assert explanation.matches, (record.run, record.decided_at, explanation.mismatch)
            REPLAYED["decisions"] += 1
        REPLAYED["examples"] += 1
    finally:
        world.agency.close()
        world.sim.stop()
        world.store.dispose()


def test_the_property_replayed_decisions():
    assert REPLAYED["examples"] > 0, "run the whole module"
    print(f"\n{REPLAYED['decisions']} recorded decisions replayed bit for bit in {REPLAYED['examples']} timelines")
    assert REPLAYED["decisions"] >= 3 * REPLAYED["examples"]


def _vetoed_alignment(world_factory, policy, *, with_a_ready_run: bool = False):  # type: ignore[no-untyped-def]
    """Run 386925 with its alignment vetoed (and 386926, all in), decided at START."""
    runs = [SimRun(386925, START - 12 * H, START - 8 * H, all_streams(policy), {"SiPixelAli": Outcome.VETOED})]
    if with_a_ready_run:
        runs.append(SimRun(386926, START - 10 * H, START - 7 * H, all_streams(policy)))
    world = world_factory(runs)
    world.at(timedelta(0))
    return world


def _console(world):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from api.main import create_app

    return TestClient(create_app(world.agency.settings, clock=world.clock, policy=world.agency.policy,
                                 store=world.store))


def test_explain_and_a_what_if_that_would_release_earlier(world_factory, policy, tmp_path, monkeypatch, capsys):
    world = _vetoed_alignment(world_factory, policy, with_a_ready_run=True)
    world.at(2 * H)
    monkeypatch.setenv("SPYAGENCY_DB_URL", world.store.url)
    at = (START + 2 * H + timedelta(minutes=1)).isoformat()
    assert main(["explain", "386925", "--at", at]) == 0
    out = capsys.readouterr().out
    assert "run 386925 as decided at" in out and "SiPixelAli: vetoed" in out
    assert "matches the decision stored then" in out and "first conditions-safe run" in out
    optional = (tmp_path / "optional.toml")
    text = policy_text = policy_text_believing_first_read()
    marker = 'name = "SiPixelAli"\nproducer = "PromptCalibProdSiPixelAli"'
    assert marker in policy_text
    optional.write_text(text.replace(marker, marker + "\nrequired = false"))
    code = main(["replay", "--policy", str(optional), "--from", (START - 24 * H).isoformat(),
                 "--to", (START + 24 * H).isoformat()])
    out = capsys.readouterr().out
    assert code == 1, out  # a run the new policy would release that the recorded one held: not safe
    assert "run 386925" in out and "LESS SAFE" in out and "1 run(s) the new policy would release" in out
    assert main(["replay", "--policy", str(tmp_path / "missing.toml"), "--from", "2026-01-01",
                 "--to", "2026-01-02"]) == 2  # a policy that cannot be read: one line, exit 2


def test_a_what_if_shows_where_steering_would_have_left_tier0_releasing(world_factory, policy, tmp_path,
                                                                          monkeypatch, capsys):
    """SpyAgency paused for a vetoed alignment: a policy without that workflow would have resumed instead, from
    the moment the pause began, and says so as less safe; the policy in force replays with no difference."""
    world = _vetoed_alignment(world_factory, policy, with_a_ready_run=True)
    world.at(39 * H)  # half an hour before 386925's lock: SpyAgency pauses
    assert world.agency.steer().delivered == 1
    monkeypatch.setenv("SPYAGENCY_DB_URL", world.store.url)
    period = ["--from", START.isoformat(), "--to", (START + 40 * H).isoformat()]
    text = policy_text_believing_first_read()
    same = tmp_path / "same.toml"
    same.write_text(text)
    assert main(["replay", "--policy", str(same), *period]) == 0
    assert "steering: 0 stretch(es)" in capsys.readouterr().out
    marker = 'name = "SiPixelAli"\nproducer = "PromptCalibProdSiPixelAli"'
    optional = tmp_path / "optional.toml"
    optional.write_text(text.replace(marker, marker + "\nrequired = false"))
    assert main(["replay", "--policy", str(optional), *period]) == 1
    out = capsys.readouterr().out
    stretch = next(line for line in out.splitlines() if line.strip().startswith("LESS SAFE"))
    assert "recorded pause (run 386925" in stretch and "would resume" in stretch, out
    lock = next(v.lock_time for v in world.agency.decide().verdicts if v.run == 386925)
    assert lock is not None
    assert f"{lock - policy.deadlines.pause_before_lock:%Y-%m-%d %H:%M} UTC to" in stretch, out


def test_a_what_if_sees_a_changed_pause_margin_on_a_recorded_store(world_factory, policy, tmp_path, monkeypatch,
                                                                    capsys):
    """A pause margin is a steering rule, not a verdict: the recorded verdicts steered under the policy in force
    against the same verdicts under a policy with another margin show where the switch would move."""
    world = _vetoed_alignment(world_factory, policy, with_a_ready_run=True)
    world.at(39 * H)  # 386925 locks at START + 39.5 h (11-22 03:30): SpyAgency pauses, 60 min before it
    assert world.agency.steer().delivered == 1
    world.at(40 * H)
    monkeypatch.setenv("SPYAGENCY_DB_URL", world.store.url)
    period = ["--from", START.isoformat(), "--to", (START + 40 * H).isoformat()]
    text = policy_text_believing_first_read()
    assert "pause_before_lock_minutes = 60" in text
    later = tmp_path / "ten-minutes.toml"
    later.write_text(text.replace("pause_before_lock_minutes = 60", "pause_before_lock_minutes = 10"))
    assert main(["replay", "--policy", str(later), *period]) == 1  # pausing later is less safe
    out = capsys.readouterr().out
    assert f"policy tried: {later}" in out and "no decision differs" in out
    stretch = next(line for line in out.splitlines() if line.strip().startswith("LESS SAFE"))
    assert stretch.strip().startswith("LESS SAFE 2026-11-22 02:30 UTC to 2026-11-22 03:20 UTC: recorded pause "
                                      "(run 386925"), out  # from the 60-min margin to the 10-min one
    earlier = tmp_path / "ten-hours.toml"
    earlier.write_text(text.replace("pause_before_lock_minutes = 60", "pause_before_lock_minutes = 600"))
    assert main(["replay", "--policy", str(earlier), *period]) == 0  # pausing earlier is not less safe
    out = capsys.readouterr().out
    assert "steering: 1 stretch(es)" in out and "0 of them less safe" in out, out
    assert "would pause (run 386925" in out
    assert main(["replay", "--policy", str(earlier), "--baseline", str(earlier), *period]) == 0
    assert "steering: 0 stretch(es)" in capsys.readouterr().out  # the same policy both ways: no stretch


def test_the_explain_api_gives_the_decision_in_force_and_its_replay(world_factory, policy):


    world = _vetoed_alignment(world_factory, policy)
    with _console(world) as client:
        body = client.get("/api/v1/runs/386925/explain").json()
        assert body["matches"] is True and body["release"] is False and body["state"] == "not_ready"
        assert any(w["workflow"] == "SiPixelAli" and w["state"] == "vetoed" for w in body["workflows"])
        early = client.get("/api/v1/runs/386925/explain", params={"at": (START - 48 * H).isoformat()})
        assert early.status_code == 404


def test_explain_switch_gives_the_steering_decision_of_a_moment(world_factory, policy, monkeypatch, capsys):
    world = _vetoed_alignment(world_factory, policy, with_a_ready_run=True)
    world.at(39 * H)  # half an hour before 386925's lock: SpyAgency pauses
    assert world.agency.steer().delivered == 1
    world.at(39 * H + timedelta(minutes=5))
    monkeypatch.setenv("SPYAGENCY_DB_URL", world.store.url)
    assert main(["explain", "--switch", "--at", (START + 39 * H + timedelta(minutes=6)).isoformat()]) == 0
    out = capsys.readouterr().out
    assert "SpyAgency wanted to pause (run 386925)" in out and "paused since" in out and "by SpyAgency" in out
    assert main(["explain", "--switch", "--at", (START + H).isoformat()]) == 0
    early = capsys.readouterr().out
    assert "SpyAgency wanted to resume" in early and "run 386925: hold" in early


def test_the_console_shows_any_moment_of_a_run_as_it_was_decided(world_factory, policy):
    import re


    world = _vetoed_alignment(world_factory, policy)
    with _console(world) as client:
        page = client.get("/runs/386925").text
        links = re.findall(r'href="(/runs/386925/as-decided\?at=[^"]+)"', page)
        assert len(links) >= 2, "the timeline and the history link to the run as decided at each moment"
        history = re.findall(r'href="(/runs/386925/as-decided\?at=[^"]+)"', page.split('class="history"')[1])
        moment = client.get(history[0].replace("&amp;", "&")).text
        assert "matches the decision stored then" in moment and "SiPixelAli: vetoed" in moment


def test_the_banner_links_to_the_steering_decision_of_the_last_switch_change(world_factory, policy):
    import re
    from html import unescape


    world = _vetoed_alignment(world_factory, policy)
    world.at(39 * H)  # half an hour before the lock: SpyAgency pauses
    assert world.agency.steer().delivered == 1
    world.at(39 * H + timedelta(minutes=5))  # the pause is observed on the switch
    with _console(world) as client:
        page = client.get("/").text
        link = re.search(r'id="switch-change" href="([^"]+)"', page)
        assert link is not None, "the banner links to the moment the switch last changed"
        moment = client.get(unescape(link.group(1)))
        assert moment.status_code == 200
        assert "SpyAgency wanted to pause (run 386925)" in moment.text and "by SpyAgency" in moment.text


def test_explain_switch_takes_an_unchanged_decision_as_in_force_not_stale(world_factory, policy, monkeypatch,
                                                                           capsys):
    """Records keep changes only: a ready run decided hours before its lock was still ready at the lock."""
    world = world_factory([SimRun(386926, START - 10 * H, START - 7 * H, all_streams(policy))])
    world.at(timedelta(0))
    lock = next(v.lock_time for v in world.agency.decide().verdicts if v.run == 386926)
    assert lock is not None and lock - START > 30 * H
    monkeypatch.setenv("SPYAGENCY_DB_URL", world.store.url)
    assert main(["explain", "--switch", "--at", (lock - timedelta(minutes=20)).isoformat()]) == 0
    out = capsys.readouterr().out
    assert "SpyAgency wanted to resume" in out and "run 386926 is ready" in out and "stale" not in out, out
