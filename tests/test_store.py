"""The store's schema comes from Alembic and re-running migrations changes nothing."""

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
