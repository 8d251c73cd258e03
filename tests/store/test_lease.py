"""Leases: one process at a time runs a step, and a living holder keeps its lease while its step runs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from spyagency.errors import LeaseHeld
from spyagency.store import Store
from spyagency.store.lease import acquire, lease, new_holder_id

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TTL = timedelta(seconds=0.6)


@pytest.fixture
def store(store_url):  # type: ignore[no-untyped-def]
    made = Store(store_url)
    made.migrate()
    yield made
    made.dispose()


def test_a_step_slower_than_its_lease_keeps_it_and_is_never_overlapped(store):
    mine, another_replica = new_holder_id(), new_holder_id()
    with lease(store, "poll-tier0", mine, NOW, TTL):
        time.sleep(3 * TTL.total_seconds())  # a stalled source: the step outlives its lease's life
        assert not acquire(store, "poll-tier0", another_replica, NOW + 3 * TTL, TTL)
        with pytest.raises(LeaseHeld, match="poll-tier0"), lease(store, "poll-tier0", another_replica, NOW + 3 * TTL,
                                                                  TTL):
            pass
    assert acquire(store, "poll-tier0", another_replica, NOW + 3 * TTL, TTL)  # given back when the step ended
