"""The at-risk warning a landing forecast raises, once, through the real sources, store and warnings."""

from __future__ import annotations

from datetime import timedelta

from simulator.scenario import Outcome, SimRun, all_streams
from spyagency.core.models import OutboxAction

from ..conftest import START

H = timedelta(hours=1)


def test_a_run_whose_calibration_is_overdue_against_history_is_warned_once_and_shown(world_factory, policy):
    from spyagency.store.outbox import pending_entries

    runs = [SimRun(386900 + i, START - (30 - 2 * i) * H, START - (29 - 2 * i) * H, all_streams(policy),
                   harvest_lag=H) for i in range(8)]
    # the last run's strip gains never come: by the others' history it is soon later than any of them
    runs.append(SimRun(386910, START - 17 * H, START - 16 * H, all_streams(policy), {"SiStripGains": Outcome.MISSING},
                       harvest_lag=H))
    world = world_factory(runs)
    world.at(timedelta(0))
    assert world.agency.warn(send=lambda entry: None) >= 1
    with world.store.session() as session:
        sent = [e for e in pending_entries(session, (OutboxAction.AT_RISK.value,))]
    assert sent == []  # delivered
    with world.store.session() as session:
        from spyagency.store.tables import OutboxRow
        at_risk = session.query(OutboxRow).filter(OutboxRow.run == 386910,
                                                  OutboxRow.action == OutboxAction.AT_RISK.value).all()
    assert [e.idempotency_key for e in at_risk] == ["at-risk-386910"]
    assert at_risk[0].reason.startswith("run 386910 is at risk: SiStripGains: later than every recent landing")
    world.at(timedelta(minutes=10))
    world.agency.warn(send=lambda entry: None)
    with world.store.session() as session:
        assert session.query(OutboxRow).filter(OutboxRow.run == 386910,
                                               OutboxRow.action == OutboxAction.AT_RISK.value).count() == 1  # once


def test_a_run_whose_express_finished_late_is_forecast_from_its_express_not_from_its_stop(world_factory, policy):
    """The store sees each calibration turn harvesting (its express done) and land: a run held up by
    Tier0 is forecast a harvest after its express, not "later than every landing"."""
    from spyagency.store.forecasts import forecasts_for

    runs = [SimRun(386900 + i, START + 2 * i * H, START + (2 * i + 1) * H, all_streams(policy), harvest_lag=H)
            for i in range(8)]
    runs.append(SimRun(386908, START + 16 * H, START + 17 * H, all_streams(policy), express_lag=8 * H,
                       harvest_lag=H))
    world = world_factory(runs)
    for half_hours in range(0, 52):  # polled every 30 min: each run is seen waiting, harvesting, uploaded
        world.at(half_hours * H / 2)
    now = world.clock.now()
    assert now == START + 25.5 * H  # the late run's express finished at +25 h; its payload is due at +26 h
    with world.store.session() as session:
        late = {f.workflow: f for f in forecasts_for(session, policy, [386908], now)[386908]}
    gains = late["SiStripGains"]
    assert "express done" in gains.reason, gains.reason
    assert gains.landing is not None and START + 25.5 * H <= gains.landing <= START + 26.5 * H
    assert not gains.at_risk
