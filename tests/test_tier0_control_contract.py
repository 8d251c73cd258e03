"""Contract of the SQL steering path: exactly one row per action, even with two writers delivering at once.

Two SpyAgency processes (a replica whose lease expired, a resend racing the original) may deliver the
same outbox row at the same moment. Against a ``promptreco_status`` with a unique ``username``, on
PostgreSQL and SQLite: exactly one row per idempotency key, and a writer that lost the race either
returns (the action is applied) or raises an error the outbox retries, never a second row.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from spyagency.act.tier0_control import PROMPTRECO_STATUS, SqlControl
from spyagency.store.tables import OutboxRow

ROUNDS = 15
DDL = ("CREATE TABLE promptreco_status (status INTEGER NOT NULL, change_time TIMESTAMP NOT NULL, "
       "username VARCHAR(200) NOT NULL, CONSTRAINT promptreco_status_user UNIQUE (username))")


@pytest.fixture(params=["sqlite", "postgres"])
def control_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 't0ast.db'}"
    return request.getfixturevalue("postgres").create_database()


def _row(key: str, action: str, attempts: int = 0) -> OutboxRow:
    return OutboxRow(idempotency_key=key, action=action, run=386925, reason="contract test",
                     created_at=datetime.now(UTC), attempts=attempts)


def _deliver_together(controls: list[SqlControl], row: OutboxRow) -> list[BaseException | None]:
    """Both writers deliver ``row`` released by one barrier; each one's outcome (None = returned)."""
    barrier = threading.Barrier(len(controls))
    outcomes: list[BaseException | None] = [None] * len(controls)

    def deliver(index: int) -> None:
        barrier.wait()
        try:
            controls[index](row)
        except BaseException as exc:  # recorded: the assertion says which outcomes are allowed
            outcomes[index] = exc

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(len(controls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_writers_delivering_the_same_action_write_it_once(control_url):
    setup = SqlControl(control_url)
    with setup.engine.begin() as conn:
        conn.execute(text(DDL))
    writers = [SqlControl(control_url), SqlControl(control_url)]
    try:
        for round_number in range(ROUNDS):
            action = "pause" if round_number % 2 == 0 else "resume"
            row = _row(f"spyagency-contract-{round_number}-{action}", action)
            outcomes = _deliver_together(writers, row)
            assert any(o is None for o in outcomes), f"round {round_number}: no writer applied it: {outcomes}"
            for failed in (o for o in outcomes if o is not None):
                # the outbox keeps a failed delivery pending and retries it: the retry must be a no-op
                assert "locked" in str(failed) or "deadlock" in str(failed).lower(), repr(failed)
                writers[0](_row(row.idempotency_key, action, attempts=1))
            with setup.engine.connect() as conn:
                count = conn.execute(select(func.count()).select_from(PROMPTRECO_STATUS).where(
                    PROMPTRECO_STATUS.c.username == f"spyagency:{row.idempotency_key}")).scalar()
            assert count == 1, f"round {round_number}: {count} rows for one action"
        assert setup.current() is False  # the last round (14) paused
    finally:
        for control in (setup, *writers):
            control.close()


def test_a_resume_never_lands_over_someone_elses_change(control_url):
    control = SqlControl(control_url)
    with control.engine.begin() as conn:
        conn.execute(text(DDL))
    try:
        control(_row("spyagency-k1-pause", "pause"))
        with control.engine.begin() as conn:  # the Offline Run Manager pauses by hand meanwhile
            conn.execute(PROMPTRECO_STATUS.insert().values(status=0, change_time=datetime(2099, 1, 1),
                                                           username="t0-operator"))
        from spyagency.errors import SwitchTakenOver

        with pytest.raises(SwitchTakenOver):
            control(_row("spyagency-k2-resume", "resume"))
        assert control.current() is False
    finally:
        control.close()
