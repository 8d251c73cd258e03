"""Steering has a clock of its own: a decide that cannot run, or sources that are all down, near a lock
still lead to a pause (the stale verdict rule), and the resume follows once decisions come back."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

import spyagency.agency as agency_module
from simulator.httpserver import Fault
from simulator.scenario import SimRun, all_streams
from spyagency.passes.decide import decide_all

from ..conftest import START

H = timedelta(hours=1)
STEER_EVERY_S = 0.2


def wait_for(condition, timeout_s: float):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.02)
    return condition()


@pytest.fixture
def looping(world_factory, policy):  # type: ignore[no-untyped-def]
    # a good run: all its calibrations arrive on time; it locks at START + 39.5 h
    world = world_factory([SimRun(386925, START - 12 * H, START - 8 * H, all_streams(policy))],
                          steer_interval_s=STEER_EVERY_S, poll_interval_s=STEER_EVERY_S)
    world.at(38 * H)
    assert world.verdicts()[386925].release
    stop = threading.Event()
    thread = threading.Thread(target=world.agency.run_forever, args=(stop,), daemon=True)
    yield world, thread
    stop.set()
    thread.join(timeout=10)


def test_a_decide_that_fails_near_a_lock_leads_to_a_pause_then_the_resume(looping, monkeypatch):
    world, thread = looping

    def broken(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("one run's data makes decide raise")

    monkeypatch.setattr(agency_module, "decide_all", broken)
    world.clock.current = START + 38 * H + 45 * timedelta(minutes=1)  # the verdict of 38 h is stale now
    world.sim.advance(world.clock.now())
    started = time.monotonic()
    thread.start()
    pauses = wait_for(lambda: [a for a in world.sim.world.control_actions if not a.enabled], 2 * STEER_EVERY_S + 3)
    took = time.monotonic() - started
    assert pauses, "no pause reached Tier0's switch while decide kept failing"
    print(f"pause landed {took:.2f} s after the loop started (steer every {STEER_EVERY_S} s)")
    monkeypatch.setattr(agency_module, "decide_all", decide_all)  # decisions come back: fresh and ready
    resumed = wait_for(lambda: [a.enabled for a in world.sim.world.control_actions] == [False, True], 5)
    assert resumed, [a.enabled for a in world.sim.world.control_actions]


def test_sources_all_down_near_a_lock_lead_to_a_pause(looping):
    world, thread = looping
    world.sim.tier0.fault = Fault.HTTP_500
    world.sim.dqm.fault = Fault.HTTP_500
    world.clock.current = START + 38 * H + 45 * timedelta(minutes=1)
    world.sim.advance(world.clock.now())
    thread.start()
    assert wait_for(lambda: [a for a in world.sim.world.control_actions if not a.enabled], 2 * STEER_EVERY_S + 5)
    world.sim.tier0.fault = Fault.NONE
    world.sim.dqm.fault = Fault.NONE
    assert wait_for(lambda: [a.enabled for a in world.sim.world.control_actions] == [False, True], 10)


def test_a_stalled_source_cannot_starve_steering_the_pause_lands_on_time(looping, monkeypatch):
    world, thread = looping
    stalled = threading.Event()
    release_the_poll = threading.Event()

    def dripping_poll(source):  # type: ignore[no-untyped-def]
        stalled.set()  # a source answering a byte at a time: this poll does not return while the test runs
        release_the_poll.wait(30)

    monkeypatch.setattr(world.agency, "poll", dripping_poll)
    world.clock.current = START + 38 * H + 45 * timedelta(minutes=1)  # the verdict of 38 h is stale now
    world.sim.advance(world.clock.now())
    thread.start()
    assert stalled.wait(5)
    started = time.monotonic()
    pauses = wait_for(lambda: [a for a in world.sim.world.control_actions if not a.enabled], 2 * STEER_EVERY_S + 3)
    release_the_poll.set()
    assert pauses, "no pause reached Tier0's switch while a poll was stalled"
    print(f"pause landed {time.monotonic() - started:.2f} s into the stalled poll (steer every {STEER_EVERY_S} s)")
