"""AlCa experts are warned once per run when its lock nears with a workflow missing."""

from datetime import timedelta

from spyagency.notify import deliver_notifications, plan_notifications
from spyagency.simulator.scenario import Outcome, SimRun, all_streams

from .conftest import START

H = timedelta(hours=1)


def test_warning_is_sent_once_near_lock(world_factory, policy, caplog):
    runs = [SimRun(386925, START - 12 * H, START - 8 * H, all_streams(policy), {"SiStripGains": Outcome.MISSING})]
    world = world_factory(runs)
    world.at(timedelta(0))
    assert plan_notifications(world.store, policy, world.clock.now()) == 0  # lock is 39.5 h away
    world.at(34 * H)  # 5.5 h before lock, within the 6 h warning window
    assert plan_notifications(world.store, policy, world.clock.now()) == 1
    assert plan_notifications(world.store, policy, world.clock.now()) == 0
    assert deliver_notifications(world.store, None, world.clock.now()) == 1
    assert "SiStripGains" in caplog.text
    assert deliver_notifications(world.store, None, world.clock.now()) == 0
