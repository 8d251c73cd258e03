"""The lying world: a property over timelines in which Tier0 and the DQM GUI lie, answer by answer.

Two SpyAgencies watch the same simulated runs on the same clock: one reads the truth, its twin reads through
hostile fronts that, per poll, answer some calls with a lie drawn from what broken upstreams do (empty,
partial, NaN, negative, far ahead, moved back, HTML, truncated, deeply nested), and from a CondDB whose
RUN_INFO row of one run may lie (its stop time a day later, or gone). At every poll, no run may be
released in the lied world that the truthful world does not release at that moment; once the truth is back,
every verdict equals the twin's. The property reports how many lies of each kind were told and how often each
interesting branch was reached, and asserts that reach.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select, update

from simulator.scenario import demo_runs
from spyagency.core.models import Source
from spyagency.policy import Policy
from spyagency.sources.conddb_schema import RUN_INFO

from ..conftest import START, make_world
from ..support.lying_proxy import Lie, LiedWorld

CYCLE = timedelta(minutes=20)
POLLS = 6
#: The calls a lie may hit, and what it becomes.
TIER0_CALLS = ("firstconditionsaferun", "express_config", "run_stream_done", "run_config")
KINDS = ("empty", "partial", "nan", "negative", "far_ahead", "moved_back", "html", "truncated", "nested")
#: Lies in the CondDB's RUN_INFO (SQL): a stopped run's stop time jumps a day later, or disappears.
SQL_KINDS = ("stop_later", "stop_vanished")
#: The run whose RUN_INFO row lies: stopped 8 h before the timeline starts.
LYING_ROW = 386929


def _lie(kind: str, body: bytes) -> Lie:
    """``kind`` of lie about the true answer ``body``."""
    if kind == "html":
        return Lie(b"<html><head><title>Service Unavailable</title></head><body>maintenance</body></html>",
                   content_type="text/html")
    if kind == "truncated":
        return Lie(body[: max(1, len(body) // 2)])
    if kind == "nested":
        return Lie(b"[" * 50_000 + b"]" * 50_000)
    document = json.loads(body)
    if "hist" in document:  # a DQM status histogram: lie in its bins
        rows = document["hist"]["bins"]["content"]
        value = {"nan": float("nan"), "negative": -1.0}.get(kind, 0.0)
        document["hist"]["bins"]["content"] = [[value if i == 2 else x for i, x in enumerate(row)] for row in rows]
        return Lie(json.dumps(document).encode())
    result = document.get("result", [])
    if kind == "empty":
        result = []
    elif kind == "partial":
        result = result[:1]
    elif kind in ("far_ahead", "moved_back", "nan", "negative") and result and isinstance(result[0], int):
        result = [{"far_ahead": 9_999_999, "moved_back": result[0] - 5, "nan": float("nan"),
                   "negative": -result[0]}[kind]]
    return Lie(json.dumps({"result": result}).encode())


@st.composite
def lies(draw: st.DrawFn) -> dict[int, list[tuple[str, str]]]:
    """Per poll, the lies told: (call or "statusResults", kind); a third of them in the window where a
    run nears its lock (polls 2 to 4)."""
    told: dict[int, list[tuple[str, str]]] = {}
    for poll in range(POLLS):
        inside = 2 <= poll <= 4
        count = draw(st.integers(0, 2 if inside else 1))
        told[poll] = []
        for _ in range(count):
            call = draw(st.sampled_from((*TIER0_CALLS, "statusResults", "RUN_INFO")))
            told[poll].append((call, draw(st.sampled_from(SQL_KINDS if call == "RUN_INFO" else KINDS))))
    return told


@contextmanager
def lying_row(world: Any, now: datetime, kinds: list[str]) -> Iterator[None]:
    """RUN_INFO's row of ``LYING_ROW`` tells the ``kinds`` of lie (the last wins) while the block runs."""
    world.sim.advance(now)  # the true row is written first (the simulator writes a stop time once)
    engine = create_engine(world.sim.conddb_url)
    row = RUN_INFO.c.RUN_NUMBER == LYING_ROW
    try:
        with engine.begin() as conn:
            true_stop = conn.execute(select(RUN_INFO.c.END_TIME).where(row)).scalar_one()
            for kind in kinds:
                conn.execute(update(RUN_INFO).where(row).values(
                    END_TIME=None if kind == "stop_vanished" else true_stop + timedelta(hours=24)))
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(update(RUN_INFO).where(row).values(END_TIME=true_stop))
        engine.dispose()


def _summary(v: Any) -> tuple[str, bool, tuple[tuple[str, str], ...]]:
    return v.state.value, v.release, tuple((w.workflow, w.state.value) for w in v.workflows)


def _verdicts(world: Any) -> dict[int, tuple[str, bool, tuple[tuple[str, str], ...]]]:
    return {v.run: _summary(v) for v in world.cycle().decision.verdicts}


def _close(world: Any) -> None:
    world.agency.close()
    world.sim.stop()
    world.store.dispose()


def play(tmp_path: Path, policy: Policy, told: dict[int, list[tuple[str, str]]], reach: Counter[str]) -> None:
    """One timeline: the truthful world and its lied twin, poll by poll; asserts as it goes."""
    runs = demo_runs(policy, START + 2 * timedelta(hours=1), extra_runs=0)  # 386925 locks during the timeline;
    # 386930 stops at its start and 386931 is taking data: their Tier0 calls are asked every poll
    where = tmp_path / f"timeline{reach['timelines']}"
    reach["timelines"] += 1
    truthful = make_world(where / "truth", policy, runs)
    lied_world = make_world(where / "lied", policy, runs)
    lied = LiedWorld(lied_world)
    try:
        for poll in range(POLLS + 2):
            now = START + poll * CYCLE
            truthful.clock.current = lied_world.clock.current = now
            today = told.get(poll, []) if poll < POLLS else []
            reach.update(f"lie {kind}" for _call, kind in today)

            def liar(path: str, status: int, body: bytes, today: list[tuple[str, str]] = today) -> Lie | None:
                return next((_lie(kind, body) for call, kind in today if call in path and status == 200), None)

            lied.tier0.liar = lied.dqm.liar = liar
            truth_cycle = {v.run: v for v in truthful.cycle().decision.verdicts}
            truth = {run: _summary(v) for run, v in truth_cycle.items()}
            sql_lies = [kind for call, kind in today if call == "RUN_INFO"]
            with lying_row(lied_world, now, sql_lies):
                cycle = lied.cycle()
            polls = {p.source: p for p in cycle.polls}
            reach["tier0 poll failed"] += not polls[Source.TIER0].ok
            reach["tier0 run fault"] += bool(polls[Source.TIER0].run_faults)
            reach["dqm reading refused"] += not polls[Source.DQM].ok or bool(polls[Source.DQM].run_faults)
            for verdict in cycle.decision.verdicts:
                if sql_lies and verdict.run == LYING_ROW:
                    assert verdict.lock_time == truth_cycle[LYING_ROW].lock_time, (poll, sql_lies)
                    reach["stop time lie not believed"] += 1
                if verdict.release:
                    assert truth.get(verdict.run, ("", False))[1], (poll, today, verdict.run, verdict.reasons)
                    reach["released, as the truth"] += 1
                elif truth.get(verdict.run, ("", False))[1]:
                    reach["held back by a lie"] += 1
        # the truth is back (the last two polls told no lie): every verdict is the twin's
        truthful.clock.current = lied_world.clock.current = START + (POLLS + 2) * CYCLE
        assert _verdicts(lied) == _verdicts(truthful)
        reach["repaired"] += 1
    finally:
        lied.close()
        _close(lied_world)
        _close(truthful)


#: One timeline that tells every kind of lie, so that each is reached whatever else is drawn.
EVERY_KIND = {0: [("statusResults", "nan")],  # the first reading of a status histogram: it is read once
              1: [("express_config", "empty"), ("statusResults", "negative")],
              2: [("firstconditionsaferun", "far_ahead"), ("run_stream_done", "nested"), ("RUN_INFO", "stop_later")],
              3: [("run_config", "html"), ("RUN_INFO", "stop_vanished")],
              4: [("express_config", "partial"), ("run_stream_done", "truncated")],
              5: [("firstconditionsaferun", "moved_back")]}


@pytest.mark.timeout(1200)  # ten timelines of two worlds each, a few seconds a poll on a loaded machine
def test_no_lie_releases_a_run_the_truth_does_not_and_the_truth_repairs_every_verdict(tmp_path, shipped_policy):
    reach: Counter[str] = Counter()

    @settings(max_examples=10, deadline=None, database=None, derandomize=True)
    @example(told=EVERY_KIND)
    @given(told=lies())
    def lying_world(told: dict[int, list[tuple[str, str]]]) -> None:
        play(tmp_path, shipped_policy, told, reach)

    lying_world()
    print("lying world reach:", dict(sorted(reach.items())))
    assert reach["repaired"] == reach["timelines"] >= 10
    for kind in (*KINDS, *SQL_KINDS):
        if kind not in ("nan", "negative"):  # a NaN or negative count is told through the DQM bins
            assert reach[f"lie {kind}"] >= 1, kind
    assert reach["tier0 poll failed"] >= 1 and reach["tier0 run fault"] >= 1 and reach["dqm reading refused"] >= 1
    assert reach["released, as the truth"] >= 1 and reach["held back by a lie"] >= 1
    assert reach["stop time lie not believed"] >= 2
