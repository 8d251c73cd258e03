"""AlCa experts are warned once per run when its lock nears with a workflow missing."""

from datetime import timedelta

import pytest

from simulator.scenario import Outcome, SimRun, all_streams
from spyagency.passes.warn import deliver_notifications, log_notifier, pending_notifications, plan_notifications

from ..conftest import START
from ..support.smtp_server import SmtpServer, text_of

H = timedelta(hours=1)


@pytest.fixture
def world(world_factory, policy):
    runs = [SimRun(386925, START - 12 * H, START - 8 * H, all_streams(policy), {"SiStripGains": Outcome.MISSING}),
            SimRun(386926, START - 11 * H, START - 7 * H, all_streams(policy), {"EcalPedestals": Outcome.MISSING})]
    return world_factory(runs)


def test_warning_is_planned_once_near_lock_and_logged(world, policy, caplog):
    world.at(timedelta(0))
    assert plan_notifications(world.store, policy, world.clock.now()) == 0  # lock is 39.5 h away
    world.at(34 * H)  # 5.5 h before lock, within the 6 h warning window
    assert plan_notifications(world.store, policy, world.clock.now()) == 1
    assert plan_notifications(world.store, policy, world.clock.now()) == 0
    assert deliver_notifications(world.store, log_notifier, world.clock.now()) == 1
    assert "SiStripGains" in caplog.text
    assert deliver_notifications(world.store, log_notifier, world.clock.now()) == 0


def test_experts_get_one_email_per_run_through_a_real_smtp_server(world):
    world.agency.settings = world.agency.settings.model_copy(update={
        "notify_email_to": "alca-hn@cern.ch, pcl-experts@cern.ch", "dashboard_url": "https://spyagency.cern.ch/"})
    with SmtpServer() as smtp:
        world.agency.settings = world.agency.settings.model_copy(update={"smtp_host": "127.0.0.1",
                                                                         "smtp_port": smtp.port})
        world.at(36 * H)  # both runs are within 6 h of their locks
        assert world.agency.warn() == 2
        assert world.agency.warn() == 0
        assert sorted(m["Subject"] for m in smtp.messages) == [
            "[SpyAgency] run 386925: conditions missing near its prompt-reco lock",
            "[SpyAgency] run 386926: conditions missing near its prompt-reco lock"]
        first = smtp.messages[0]
        assert first["To"] == "alca-hn@cern.ch, pcl-experts@cern.ch"
        text = text_of(first)
        assert "SiStripGains" in text and "https://spyagency.cern.ch/runs/386925#ack" in text  # the panel itself


def test_a_failing_relay_keeps_warnings_pending_and_repeats_none(world):
    world.at(36 * H)
    delivered: list[int] = []

    def relay_down_after_first(row):
        if delivered:
            raise ConnectionRefusedError("relay down")
        delivered.append(row.run)

    assert world.agency.warn(relay_down_after_first) == 1
    pending = pending_notifications(world.store)
    assert [p.run for p in pending] == [386926] and "relay down" in pending[0].last_error
    assert world.agency.warn(lambda row: delivered.append(row.run)) == 1
    assert delivered == [386925, 386926]  # each exactly once
