"""The store's schema comes from Alembic and re-running migrations changes nothing."""

import json

from sqlalchemy import inspect

from spyagency.store import Store


def test_migrations_create_every_table_and_are_idempotent(store_url):
    store = Store(store_url)
    store.migrate()
    store.migrate()
    tables = set(inspect(store.engine).get_table_names())
    assert {"runs", "uploads", "workflow_states", "state_changes", "acknowledgements",
            "release_decisions", "source_status", "outbox", "alembic_version"} <= tables
    store.dispose()


def test_the_known_schema_head_is_the_newest_migration(store_url):
    """A store at SCHEMA_HEAD is used as it is without loading Alembic: the constant must follow the migrations."""
    from alembic.script import ScriptDirectory

    from spyagency.store.database import SCHEMA_HEAD, alembic_config

    assert ScriptDirectory.from_config(alembic_config(store_url)).get_current_head() == SCHEMA_HEAD
    store = Store(store_url)
    assert store.schema_revision() is None
    store.migrate()
    assert store.schema_revision() == SCHEMA_HEAD
    store.dispose()


def test_a_command_on_a_current_store_does_not_load_alembic(tmp_path):
    """`spyagency status` (and every poll) on a migrated store checks one row instead of importing Alembic."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path}/store.sqlite"
    Store(url).migrate()
    probe = ("import sys\nfrom spyagency.store import Store\nStore(sys.argv[1]).migrate()\n"
             "print('alembic' in sys.modules)")
    loaded = subprocess.run([sys.executable, "-c", probe, url], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"


def test_a_run_is_finalized_only_once_locked_and_settled(world_factory, policy):
    """Finalized runs are never decided again: released ones at once, overdue ones a day after the lock."""
    from datetime import timedelta

    from simulator.scenario import Outcome, SimRun, all_streams
    from spyagency.store.tables import TrackedRun

    from ..conftest import START

    hour = timedelta(hours=1)
    runs = [SimRun(386925, START - 12 * hour, START - 8 * hour, all_streams(policy)),
            SimRun(386926, START - 11 * hour, START - 7 * hour, all_streams(policy),
                   {"SiStripGains": Outcome.MISSING})]
    world = world_factory(runs)

    def finalized() -> dict[int, bool]:
        with world.store.session() as session:
            return {r.run: r.finalized for r in session.query(TrackedRun)}

    world.at(timedelta(0))
    assert finalized() == {386925: False, 386926: False}  # ready, but Tier0 has not locked it
    verdicts = world.at(42 * hour)  # both locked (locks at 39.5 h and 40.5 h)
    assert verdicts[386926].state.value == "overdue"
    assert finalized() == {386925: True, 386926: False}  # overdue: watched a day for late payloads
    assert set(world.at(64 * hour)) == {386926}  # the released run is no longer decided
    assert finalized() == {386925: True, 386926: False}  # 23.5 h after its lock
    world.at(65 * hour)  # 24.5 h after its lock
    assert finalized() == {386925: True, 386926: True}
    assert world.at(66 * hour) == {}


def test_decision_records_keep_their_facts_through_the_compressing_migration(store_url):
    """Records written before 0010 (facts as JSON) read back the same after it (facts compressed)."""
    from datetime import UTC, datetime

    import sqlalchemy as sa
    from alembic import command
    from sqlalchemy import select

    from spyagency.store.database import alembic_config
    from spyagency.store.tables import DecisionRecord

    facts = {"observations": {"run": 386925, "uploads": {"SiPixelAli_PCL_v0_prompt": []}}, "now": "2026-06-01"}
    store = Store(store_url)
    config = alembic_config(store_url)
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0009")
        connection.execute(sa.text(
            "INSERT INTO decision_records (run, decided_at, policy, digest, inputs, verdict) "
            "VALUES (386925, :at, 'default v2', 'd1', :inputs, :verdict)"),
            {"at": datetime(2026, 6, 1, tzinfo=UTC).replace(tzinfo=None), "inputs": json.dumps(facts),
             "verdict": json.dumps({"run": 386925})})
    store.migrate()
    with store.session() as session:
        record = session.scalars(select(DecisionRecord)).one()
        assert record.inputs == facts and record.verdict == {"run": 386925}
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0009")
        kept = connection.execute(sa.text("SELECT inputs FROM decision_records")).scalar_one()
    assert (json.loads(kept) if isinstance(kept, str) else kept) == facts
    store.dispose()


def test_a_dqm_reading_that_says_nothing_new_moves_its_time_and_leaves_the_verdict_standing(store_url):
    """Each poll re-reads DQM outputs that are not conclusive yet: the same answer is no new fact (a verdict
    made meanwhile is still saved), a different one is, and both keep the newest reading time."""
    from datetime import UTC, datetime, timedelta

    from spyagency.core.models import DqmCheck, DqmOutcome
    from spyagency.store.observations import facts_versions, record_dqm
    from spyagency.store.tables import DqmRow, TrackedRun

    t = datetime(2026, 6, 1, 12, tzinfo=UTC)
    store = Store(store_url)
    store.migrate()
    with store.session() as session:
        session.add_all([TrackedRun(run=run, start_time=t, first_seen=t) for run in (386925, 386926)])
    not_yet = [DqmCheck(run, "SiStripGains", DqmOutcome.NOT_AVAILABLE, "no harvest yet", t) for run in (386925, 386926)]
    with store.session() as session:
        record_dqm(session, not_yet)
        before = facts_versions(session, [386925, 386926])
    later = t + timedelta(minutes=10)
    with store.session() as session:
        record_dqm(session, [DqmCheck(386925, "SiStripGains", DqmOutcome.NOT_AVAILABLE, "no harvest yet", later),
                             DqmCheck(386926, "SiStripGains", DqmOutcome.FAILED, "harvest failed", later)])
    with store.session() as session:
        after = facts_versions(session, [386925, 386926])
        rows = {row.run: row for row in session.query(DqmRow)}
        assert after[386925] == before[386925] and after[386926] == before[386926] + 1
        assert rows[386925].outcome == "not_available" and rows[386926].outcome == "failed"
        assert {row.observed_at.replace(tzinfo=UTC) for row in rows.values()} == {later}
    store.dispose()
