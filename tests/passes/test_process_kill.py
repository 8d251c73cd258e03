"""Real processes killed with SIGKILL at the worst moments: nothing lost, nothing repeated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from simulator.scenario import Outcome, SimRun, all_streams
from spyagency.core.models import AckKind
from spyagency.people.acknowledge import acknowledge

from ..conftest import START

H = timedelta(hours=1)
CHILD = Path(__file__).parents[1] / "support" / "agency_process.py"


def child_env(world) -> dict[str, str]:
    settings = world.agency.settings
    return {**os.environ, "SPYAGENCY_DB_URL": settings.db_url, "SPYAGENCY_TIER0_URL": settings.tier0_url,
            "SPYAGENCY_DQM_URL": settings.dqm_url, "SPYAGENCY_CONDDB_URL": settings.conddb_url,
            "SPYAGENCY_HTTP_RETRIES": "0", "SPYAGENCY_STEER_MODE": "sql",
            "SPYAGENCY_TIER0_CONTROL_DB_URL": settings.tier0_control_db_url or ""}


def run_child(world, mode: str) -> str:
    """Run the child to completion; return its output."""
    done = subprocess.run([sys.executable, str(CHILD), mode, world.clock.now().isoformat()], env=child_env(world),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def kill_child_at_marker(world, mode: str) -> None:
    """Start the child, wait until it says it reached the fatal point, and SIGKILL it."""
    child = subprocess.Popen([sys.executable, str(CHILD), mode, world.clock.now().isoformat()],
                             env=child_env(world), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip() == "KILL-ME", child.stderr.read() if child.stderr else line
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()


@pytest.fixture
def world(world_factory, policy, store_url):
    runs = [SimRun(386925, START - 12 * H, START - 8 * H, all_streams(policy), {"SiPixelAli": Outcome.VETOED}),
            SimRun(386926, START - 8 * H, START - 6 * H, all_streams(policy))]
    return world_factory(runs, store_url=store_url)


def applied(world) -> list[bool]:
    """The rows in the simulated Tier0's promptreco_status after its seed: True = resume, False = pause."""
    return [a.enabled for a in world.sim.world.control_actions]


def recorded_change_times(world, action: str) -> list[str]:
    from spyagency.store.tables import OutboxRow
    with world.store.session() as session:
        return [t for row in session.query(OutboxRow).filter(OutboxRow.action == action)
                for t in (row.detail or {}).get("change_times", [])]


def test_killed_steer_processes_deliver_one_pause_and_one_resume(world):
    world.at(39 * H)  # the vetoed run's lock is 30 min away
    kill_child_at_marker(world, "die-after-send")  # Tier0 got the pause; the outbox does not know
    assert applied(world) == [False]
    assert run_child(world, "steer").strip() == "sent 1"  # resent: its row is found by its recorded change_time
    assert applied(world) == [False]
    assert len(recorded_change_times(world, "pause")) == 1  # written once, never stamped again

    acknowledge(world.store, world.agency.policy, run=386925, workflow="SiPixelAli",
                kind=AckKind.ACCEPT_WITHOUT_PAYLOAD, author="expert", comment="vetoed on purpose",
                now=world.clock.now())
    kill_child_at_marker(world, "die-after-plan")  # the resume is committed, never sent
    assert applied(world) == [False]
    assert run_child(world, "steer").strip() == "sent 1"
    assert applied(world) == [False, True]
    assert run_child(world, "steer").strip() == "sent 0"  # level-triggered: nothing more to say
    assert applied(world) == [False, True]


def store_snapshot(store) -> dict[str, object]:
    """What must come out the same whether or not cycles were killed on the way."""
    from collections import Counter

    from sqlalchemy import select

    from spyagency.store.tables import StateChange, TrackedRun, UploadRow, WorkflowStateRow
    with store.session() as session:
        return {
            "runs": sorted(session.execute(select(TrackedRun.run, TrackedRun.state, TrackedRun.release))),
            "workflows": sorted(session.execute(select(WorkflowStateRow.run, WorkflowStateRow.workflow,
                                                       WorkflowStateRow.state))),
            "uploads": Counter(session.execute(select(UploadRow.tag, UploadRow.since_run, UploadRow.inserted_at))),
            "history": Counter(session.execute(select(StateChange.run, StateChange.workflow, StateChange.state))),
        }


def test_a_cycle_killed_anywhere_leaves_a_store_the_next_cycle_completes(world_factory, shipped_policy, store_url,
                                                                         tmp_path):
    from simulator.scenario import generate_runs
    from spyagency.store import Store

    runs = generate_runs(shipped_policy, 390000, START - 60 * H, 60, seed=7, problem_rate=0.3)
    world = world_factory(runs, store_url=store_url)
    world.clock.current = START
    world.sim.advance(START)
    reference = Store(f"sqlite:///{tmp_path / 'reference.db'}")
    reference.migrate()

    from ..support.agency_process import CRASH_POINTS

    for marker in CRASH_POINTS:  # one kill at each named point, in cycle order
        child = subprocess.Popen([sys.executable, str(CHILD), f"die-at:{marker}", START.isoformat()],
                                 env=child_env(world), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert child.stdout is not None
        line = child.stdout.readline().strip()
        assert line == "KILL-ME", f"{marker}: the child never reached it ({line!r}, {child.stderr})"
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=60)

    assert "decided" in run_child(world, "reconcile")
    # the same cycle, never interrupted, into a fresh store
    from spyagency.agency import Agency
    from spyagency.clock import ManualClock
    clean = Agency(world.agency.settings.model_copy(update={"db_url": reference.url}), clock=ManualClock(START),
                   policy=shipped_policy)  # the children's policy: the one shipped
    try:
        clean.observe_and_decide()
    finally:
        clean.close()
    assert store_snapshot(world.store) == store_snapshot(reference)
    reference.dispose()


def test_two_reconcilers_on_one_store_steer_once(world, tmp_path):
    """Two real processes steer the same store at the same moment: Tier0 gets one pause, not two."""
    world.at(39 * H)  # the vetoed run's lock is 30 min away: both want to pause
    go = tmp_path / "go"
    env = {**child_env(world), "SPYAGENCY_TEST_GO": str(go)}
    children = [subprocess.Popen([sys.executable, str(CHILD), "steer-race", world.clock.now().isoformat()],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(2)]
    try:
        for child in children:
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        go.touch()
        outputs = [child.communicate(timeout=120) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    assert all(child.returncode == 0 for child in children), [err for _out, err in outputs]
    assert sum(int(out.split()[-1]) for out, _err in outputs) == 1
    assert applied(world) == [False]
    assert len(recorded_change_times(world, "pause")) == 1
