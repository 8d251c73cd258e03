"""Hostile sources: every fault gives a clear error, keeps runs not ready with a reason, loses no
stored state, and the runs recover when the source answers properly again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, insert, select, update

from simulator.httpserver import Fault
from simulator.scenario import Outcome, SimRun, all_streams
from spyagency.core.models import RunState, WorkflowState
from spyagency.sources import conddb_schema as db
from spyagency.store.tables import AckRow, DqmRow, StateChange, TrackedRun, UploadRow

from ..conftest import START

H = timedelta(hours=1)
READY_RUN = 386925  # everything in long ago
# harvested between START and START + 1 h; its alignment needs no update, which only the DQM GUI can say
PENDING_RUN = 386926


@pytest.fixture
def world(world_factory, policy, store_url):
    runs = [SimRun(READY_RUN, START - 12 * H, START - 8 * H, all_streams(policy)),
            SimRun(PENDING_RUN, START - 5 * H, START - 3.5 * H, all_streams(policy),
                   {"SiPixelAli": Outcome.NO_PAYLOAD})]
    world = world_factory(runs, store_url=store_url)
    assert world.at(timedelta(0))[READY_RUN].state is RunState.READY
    return world


def stored(world) -> dict[str, int]:
    """Row counts of what must never be lost: they may grow with new facts, never shrink."""
    with world.store.session() as session:
        count = lambda model: session.scalar(select(func.count()).select_from(model))  # noqa: E731
        return {"uploads": count(UploadRow), "acks": count(AckRow), "dqm": count(DqmRow), "runs": count(TrackedRun),
                "history": count(StateChange)}


def assert_nothing_lost(before: dict[str, int], after: dict[str, int]) -> None:
    assert all(after[k] >= before[k] for k in before), (before, after)


HTTP_FAULTS = {
    Fault.TIMEOUT: "timed out",
    Fault.HTTP_500: "HTTP 500",
    Fault.TRUNCATED: "malformed JSON",
    Fault.WRONG_TYPES: "",  # the message names what is malformed: see WRONG_TYPES_NAMES
    Fault.NOT_JSON: "malformed JSON",
}
WRONG_TYPES_NAMES = {"tier0": 'did not return a {"result": [...]} envelope',
                     "dqm": "histogram lacks xaxis.labels or bins.content"}


@pytest.mark.parametrize("source", ["tier0", "dqm"])
@pytest.mark.parametrize("fault", list(HTTP_FAULTS))
def test_http_source_faults_keep_runs_not_ready_and_recover(world, source, fault):
    before = stored(world)
    service = getattr(world.sim, source)
    service.timeout_delay = 1.5  # the client gives up after 1 s
    service.fault = fault
    world.clock.current = START + H
    cycle = world.cycle()
    poll = next(p for p in cycle.polls if p.source.value == source)
    assert not poll.ok, f"{source} {fault.value} was not noticed"
    expected = WRONG_TYPES_NAMES[source] if fault is Fault.WRONG_TYPES else HTTP_FAULTS[fault]
    assert poll.error and expected in poll.error, poll.error
    assert len(poll.error) < 500  # a sentence for a person, not a dump
    verdicts = {v.run: v for v in cycle.decision.verdicts}
    # Tier0 answers about every run; the DQM GUI matters where no payload came and only DQM can say why
    affected = verdicts.values() if source == "tier0" else [verdicts[PENDING_RUN]]
    name = "Tier0 Data Service" if source == "tier0" else "DQM"
    for verdict in affected:
        assert not verdict.release, f"run {verdict.run} released while {source} fails ({fault.value})"
        assert any(name in reason for reason in verdict.reasons), verdict.reasons
    if source == "dqm":  # a final DQM reading stored earlier still stands
        assert verdicts[READY_RUN].release
    assert_nothing_lost(before, stored(world))

    service.fault = Fault.NONE
    recovered = world.verdicts()
    assert recovered[READY_RUN].state is RunState.READY and recovered[PENDING_RUN].state is RunState.READY


def test_conddb_gone_keeps_runs_not_ready_and_recovers(world):
    before = stored(world)
    path = world.sim.conddb_path
    hidden = path.with_suffix(".away")
    world.sim.world.engine.dispose()
    world.agency.conddb.engine.dispose()  # drop pooled connections: the next query opens the file anew
    path.rename(hidden)
    try:
        cycle = world.agency.observe_and_decide()
    finally:
        path.with_suffix(".sqlite").unlink(missing_ok=True)  # SQLite may have created an empty file
        hidden.rename(path)
    poll = next(p for p in cycle.polls if p.source.value == "conddb")
    assert not poll.ok
    assert poll.error and ("query failed" in poll.error or "cannot reach" in poll.error)
    verdict = {v.run: v for v in cycle.decision.verdicts}[READY_RUN]
    assert not verdict.release and any("CondDB" in r for r in verdict.reasons)
    assert_nothing_lost(before, stored(world))
    assert world.verdicts()[READY_RUN].state is RunState.READY


def test_a_tag_missing_from_the_conddb_is_named_and_recovers(world, policy):
    tag = policy.workflow("SiStripGains").tag
    with world.sim.world.engine.begin() as conn:
        conn.execute(update(db.TAG).where(db.TAG.c.NAME == tag).values(NAME=tag + "_renamed"))
    verdicts = world.verdicts()
    assert not verdicts[READY_RUN].release
    gains = next(w for w in verdicts[READY_RUN].workflows if w.workflow == "SiStripGains")
    assert not gains.done and tag in gains.reason
    with world.sim.world.engine.begin() as conn:
        conn.execute(update(db.TAG).where(db.TAG.c.NAME == tag + "_renamed").values(NAME=tag))
    assert world.verdicts()[READY_RUN].state is RunState.READY


def test_a_reupload_with_the_same_since_is_one_more_upload_not_a_duplicate(world, policy):
    world.sim.world.upload(READY_RUN, "SiStripGains", world.clock.now())  # same since, new insertion
    tag = policy.workflow("SiStripGains").tag
    for _ in range(3):  # the cursor overlap re-reads the same IOVs: they must not be stored twice
        verdict = world.verdicts()[READY_RUN]
    assert verdict.state is RunState.READY
    with world.store.session() as session:
        rows = session.scalars(select(UploadRow).where(UploadRow.since_run == READY_RUN, UploadRow.tag == tag)).all()
    assert len(rows) == 2 and len({r.inserted_at for r in rows}) == 2


def test_a_run_written_to_run_info_out_of_order_is_still_found(world_factory, policy):
    runs = [SimRun(386930, START - 6 * H, START - 5 * H, all_streams(policy)),
            SimRun(386931, START - 4 * H, START - 3 * H, all_streams(policy))]
    world = world_factory(runs)
    world.clock.current = START
    world.sim.advance(START)
    with world.sim.world.engine.begin() as conn:  # 386930's row is written late
        row = conn.execute(select(db.RUN_INFO).where(db.RUN_INFO.c.RUN_NUMBER == 386930)).one()
        conn.execute(delete(db.RUN_INFO).where(db.RUN_INFO.c.RUN_NUMBER == 386930))
    assert {v.run for v in world.agency.observe_and_decide().decision.verdicts} == {386931}
    with world.sim.world.engine.begin() as conn:
        conn.execute(insert(db.RUN_INFO), [dict(row._mapping)])
    verdicts = {v.run: v for v in world.agency.observe_and_decide().decision.verdicts}
    assert set(verdicts) == {386930, 386931}
    assert verdicts[386930].state is RunState.READY


def test_an_upload_stamped_in_the_future_does_not_hide_later_uploads(world, policy):
    """Clock skew: one writer's clock is 2 h ahead. Uploads stamped correctly afterwards still count."""
    world.sim.world.upload(READY_RUN, "EcalPedestals", world.clock.now() + 2 * H)
    world.verdicts()
    world.clock.current += 0.75 * H  # PENDING_RUN's payloads arrive at the right time, after the skewed one
    verdict = world.verdicts()[PENDING_RUN]
    uploaded = {w.workflow for w in verdict.workflows if w.state is WorkflowState.UPLOADED}
    assert "SiStripGains" in uploaded and "BeamSpotHPByLumi" in uploaded


@pytest.mark.parametrize("call", ["run_config", "express_config", "run_stream_done"])
def test_a_failing_per_run_tier0_call_affects_only_that_run_and_it_recovers(world_factory, policy, call):
    runs = [SimRun(386925 + i, START - (10 - 2 * i) * H, START - (9 - 2 * i) * H, all_streams(policy))
            for i in range(4)]  # express done 3 h after each stop: at START, 386928 is still pending
    world = world_factory(runs)
    # from the first poll: once a stopped run's configuration is read, only run_stream_done is asked again
    world.sim.world.tier0_run_faults.add((call, 386928))
    world.at(-2 * H)
    cycle = world.cycle()
    tier0 = next(p for p in cycle.polls if p.source.value == "tier0")
    assert tier0.ok and tier0.run_faults == (386928,)
    verdicts = world.at(2 * H)
    assert [r for r, v in verdicts.items() if v.release] == [386925, 386926, 386927]
    broken = verdicts[386928]
    assert not broken.release
    assert broken.reasons[0].startswith("Tier0 Data Service failed for run 386928") and call in broken.reasons[0]
    world.sim.world.tier0_run_faults.clear()
    assert world.at(3 * H)[386928].release


def test_most_per_run_calls_failing_is_the_source_down_not_many_run_faults(world_factory, policy):
    runs = [SimRun(386925 + i, START - 3 * H, START - 2 * H, all_streams(policy)) for i in range(4)]
    world = world_factory(runs)
    world.cycle()
    world.sim.world.tier0_run_faults.update({386925, 386926, 386927})
    cycle = world.cycle()
    tier0 = next(p for p in cycle.polls if p.source.value == "tier0")
    assert not tier0.ok and tier0.error.startswith("Tier0 Data Service: 3 of 4 per-run calls failed")
    assert all(any("Tier0 Data Service failed at" in r for r in v.reasons) for v in cycle.decision.verdicts)


def test_a_failing_dqm_read_for_one_run_keeps_the_others_read(world_factory, policy):
    runs = [SimRun(386925, START - 8 * H, START - 7 * H, all_streams(policy), {"SiPixelAli": Outcome.VETOED}),
            SimRun(386926, START - 6 * H, START - 5 * H, all_streams(policy), {"SiPixelAli": Outcome.VETOED})]
    world = world_factory(runs)
    world.sim.world.dqm_run_faults.add(386926)
    verdicts = world.at(timedelta(0))
    assert next(w for w in verdicts[386925].workflows if w.workflow == "SiPixelAli").state is WorkflowState.VETOED
    broken = next(w for w in verdicts[386926].workflows if w.workflow == "SiPixelAli")
    assert broken.state is WorkflowState.HARVESTING and "DQM GUI failed for this run" in broken.reason
    world.sim.world.dqm_run_faults.clear()
    verdicts = world.at(10 * timedelta(minutes=1))
    assert next(w for w in verdicts[386926].workflows if w.workflow == "SiPixelAli").state is WorkflowState.VETOED
