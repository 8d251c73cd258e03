"""Contract of the switch writer against Tier0's real ``promptreco_status``: two columns, no key, no user.

On SQLite and PostgreSQL, with exactly the table t0wmadatasvc creates (``status``, ``change_time``):
a pause and a resume write one row each; a resend after a kill at each crash point writes nothing
twice; two writers write once; a person's pause is never written over, a person's resume is never
paused over by a resume, and two rows sharing the newest ``change_time`` make SpyAgency stand down.
The rows written in each scenario are listed in the README's steering section.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from spyagency.core.models import OutboxEntry
from spyagency.errors import SteeringRefused, SwitchRowAhead, SwitchTakenOver
from spyagency.sources.tier0_switch import SqlControl, SwitchRow

DDL = "CREATE TABLE promptreco_status (status INTEGER NOT NULL, change_time TIMESTAMP NOT NULL)"
SEED = datetime(2026, 5, 1)
T = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class Crash(Exception):
    """Stands for the process dying at that point."""


@dataclass
class Outbox:
    """What SpyAgency's store keeps of its switch writes: the change_times recorded per entry."""

    times: dict[int, list[datetime]] = field(default_factory=dict)
    actions: dict[int, str] = field(default_factory=dict)
    crash_after_remember: bool = False

    def remember(self, entry: OutboxEntry, moment: datetime) -> None:
        self.times.setdefault(entry.id, []).append(moment)
        self.actions[entry.id] = entry.action
        if self.crash_after_remember:
            raise Crash("died after recording the change_time, before the row was written")

    def own(self) -> set[tuple[int, datetime]]:
        return {(0 if self.actions[i] == "pause" else 1, t) for i, ts in self.times.items() for t in ts}

    def entry(self, entry_id: int, action: str) -> OutboxEntry:
        detail = {"change_times": [t.isoformat() for t in self.times.get(entry_id, [])]}
        return OutboxEntry(entry_id, f"k{entry_id}", action, 386925, "test", T, detail=detail)


@pytest.fixture(params=["sqlite", "postgres"])
def switch_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    url = (f"sqlite:///{tmp_path / 't0datasvc.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres").create_database())
    writer = SqlControl(url, remember=lambda *_: None, own_writes=set)
    with writer.engine.begin() as conn:
        conn.execute(text(DDL))
        conn.execute(text("INSERT INTO promptreco_status VALUES (1, :t)"), {"t": SEED})
    writer.close()
    return url


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


@pytest.fixture
def control(switch_url: str, outbox: Outbox) -> Iterator[SqlControl]:
    clock = iter(T + timedelta(seconds=i, microseconds=7) for i in range(1000))
    writer = SqlControl(switch_url, remember=outbox.remember, own_writes=outbox.own, now=lambda: next(clock))
    yield writer
    writer.close()


def person(control: SqlControl, status: int, at: datetime) -> None:
    with control.engine.begin() as conn:
        conn.execute(text("INSERT INTO promptreco_status VALUES (:s, :t)"), {"s": status, "t": at})


def written(control: SqlControl) -> list[tuple[int, datetime]]:
    return [(row.status, row.change_time) for row in control.rows()][1:]  # after the seed


def test_a_pause_and_a_resume_are_one_row_each_with_the_recorded_change_time(control, outbox):
    control(outbox.entry(1, "pause"))
    assert control.current() is False
    control(outbox.entry(2, "resume"))
    assert control.current() is True
    rows = written(control)
    assert [s for s, _ in rows] == [0, 1]
    # the exact change_time (microseconds) was recorded before it was written
    assert [t for _, t in rows] == [outbox.times[1][0].replace(tzinfo=None), outbox.times[2][0].replace(tzinfo=None)]
    assert rows[0][1].microsecond == 7


@pytest.mark.parametrize("crash_point", ["after the row, before bookkeeping", "after recording, before the row"])
def test_a_resend_after_a_kill_writes_the_row_exactly_once(control, outbox, crash_point):
    if crash_point == "after recording, before the row":
        outbox.crash_after_remember = True
        with pytest.raises(Crash):
            control(outbox.entry(1, "pause"))
        assert written(control) == []  # the transaction died with the process
        outbox.crash_after_remember = False
    else:
        control(outbox.entry(1, "pause"))  # written; the process dies before marking the entry sent
    control(outbox.entry(1, "pause"))  # the resend looks for its recorded change_time first
    control(outbox.entry(1, "pause"))
    assert [s for s, _ in written(control)] == [0]


def test_two_writers_delivering_the_same_pause_write_it_once(switch_url, outbox):
    lock = threading.Lock()

    def remember(entry: OutboxEntry, moment: datetime) -> None:
        with lock:
            outbox.remember(entry, moment)

    writers = [SqlControl(switch_url, remember=remember, own_writes=outbox.own,
                          now=lambda: datetime.now(UTC)) for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[BaseException | None] = [None, None]

    def deliver(i: int) -> None:
        barrier.wait()
        try:
            writers[i](outbox.entry(1, "pause"))
        except BaseException as exc:  # a serialization failure is retried by the outbox: allowed
            outcomes[i] = exc

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if any(outcomes):
        writers[0](outbox.entry(1, "pause"))  # the outbox's retry
    rows = [r for r in writers[0].rows() if r.change_time != SEED]
    assert [r.status for r in rows] == [0], outcomes
    for writer in writers:
        writer.close()


def test_a_persons_pause_is_never_written_over(control, outbox):
    person(control, 0, datetime(2026, 6, 1, 11, 0))  # the Offline Run Manager's big red button
    with pytest.raises(SwitchTakenOver, match=r"^not pausing: someone else paused Tier0 at 2026-06-01 11:00 UTC") \
            as refused:
        control(outbox.entry(1, "pause"))
    assert refused.value.enabled is False
    with pytest.raises(SwitchTakenOver):
        control(outbox.entry(2, "resume"))
    assert [s for s, _ in written(control)] == [0]  # the person's row alone


def test_any_status_but_1_is_a_pause_so_a_persons_2_is_read_as_paused_and_never_written_over(control, outbox):
    person(control, 2, datetime(2026, 6, 1, 11, 0))  # Tier0 releases only on status == 1
    assert control.current() is False
    with pytest.raises(SwitchTakenOver, match=r"^not pausing: someone else paused Tier0") as refused:
        control(outbox.entry(1, "pause"))
    assert refused.value.enabled is False
    with pytest.raises(SwitchTakenOver, match="is not SpyAgency's pause"):
        control(outbox.entry(2, "resume"))
    assert [s for s, _ in written(control)] == [2]  # the person's row alone: SpyAgency never undoes it


def test_a_resume_after_a_persons_resume_is_refused(control, outbox):
    control(outbox.entry(1, "pause"))
    person(control, 1, datetime(2026, 6, 1, 13, 0))  # someone released over SpyAgency's pause
    with pytest.raises(SwitchTakenOver, match=r"^not resuming: the newest row \(1 at 2026-06-01 13:00:00\.000000\) "
                                             r"is not SpyAgency's pause") as refused:
        control(outbox.entry(2, "resume"))
    assert refused.value.enabled is True
    assert [s for s, _ in written(control)] == [0, 1]


def test_a_newer_row_or_two_newest_rows_make_spyagency_stand_down(control, outbox):
    control(outbox.entry(1, "pause"))
    own = outbox.times[1][0].replace(tzinfo=None)
    person(control, 1, own)  # a second row with the very same change_time: Tier0's answer is ambiguous
    assert control.current() is None
    with pytest.raises(SwitchTakenOver, match=r"^not resuming: two rows share the newest change_time;") as refused:
        control(outbox.entry(2, "resume"))
    assert refused.value.enabled is False  # Tier0's answer is ambiguous: not "someone released"


def test_a_row_is_written_newer_than_every_row_even_when_the_clock_lags(switch_url, outbox):
    writer = SqlControl(switch_url, remember=outbox.remember, own_writes=outbox.own, now=lambda: T)
    person(writer, 1, datetime(2026, 6, 1, 12, 0, 5))  # a row stamped by a clock 5 s ahead of SpyAgency's
    writer(outbox.entry(1, "pause"))
    rows = writer.rows()
    assert rows[-1] == SwitchRow(0, datetime(2026, 6, 1, 12, 0, 5, 1)) and writer.current() is False
    writer.close()


def test_a_row_stamped_far_ahead_of_spyagencys_clock_is_never_outranked_and_the_action_stays_pending(
        switch_url, outbox):
    writer = SqlControl(switch_url, remember=outbox.remember, own_writes=outbox.own, now=lambda: T)
    person(writer, 1, datetime(2026, 6, 1, 13, 0))  # a writer whose clock runs an hour ahead
    with pytest.raises(SwitchRowAhead, match=r"stamped 2026-06-01 13:00:00 UTC, 1:00:00 ahead of SpyAgency's clock: "
                                             r"no pause is written after it"):
        writer(outbox.entry(1, "pause"))
    assert written(writer) == [(1, datetime(2026, 6, 1, 13, 0))]
    assert not isinstance(SwitchRowAhead("x"), SteeringRefused)  # not cancelled: tried again, reported as failing
    writer.close()


def test_the_table_is_only_read_and_inserted_into(control, outbox, switch_url):
    """SELECT and INSERT alone: the writer never creates, alters or deletes (checked by its statements)."""
    statements: list[str] = []
    from sqlalchemy import event

    event.listen(control.engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_: statements.append(statement.split()[0].upper()))
    control(outbox.entry(1, "pause"))
    control(outbox.entry(2, "resume"))
    assert set(statements) <= {"SELECT", "INSERT", "BEGIN", "COMMIT", "ROLLBACK", "SET", "SHOW"}, statements
    assert "INSERT" in statements


def test_an_entry_without_recorded_times_is_a_first_attempt(outbox):
    entry = outbox.entry(9, "pause")
    assert replace(entry, detail=None).detail is None and entry.detail == {"change_times": []}


def test_a_resend_after_someone_resumed_over_the_pause_writes_nothing(control, outbox):
    """Killed after writing its pause; the shift resumes by hand; the resend finds its own row by its recorded
    change_time and writes no second pause over the person's resume."""
    control(outbox.entry(1, "pause"))
    person(control, 1, datetime(2026, 6, 1, 13, 0))
    control(outbox.entry(1, "pause"))  # the resend of that very action
    assert [s for s, _ in written(control)] == [0, 1] and control.current() is True


def test_a_second_pause_while_spyagency_s_own_pause_holds_writes_nothing(control, outbox):
    control(outbox.entry(1, "pause"))
    control(outbox.entry(2, "pause"))  # another action asking the same (a new plan after a restart, say)
    assert [s for s, _ in written(control)] == [0] and 2 not in outbox.times


def test_rows_are_read_in_change_time_order_whatever_the_insertion_order(control, outbox):
    control(outbox.entry(1, "pause"))
    person(control, 1, datetime(2026, 5, 20, 8, 0))  # a row stamped in the past, inserted last
    assert [row.change_time for row in control.rows()] == sorted(row.change_time for row in control.rows())
    assert control.current() is False  # the newest change_time holds, not the newest insertion


def test_a_resend_whose_row_never_landed_writes_it_even_with_old_pauses_in_the_table(control, outbox):
    person(control, 0, datetime(2026, 5, 10, 8, 0))  # months-old rows of people: a pause, then its resume
    person(control, 1, datetime(2026, 5, 10, 9, 0))
    outbox.crash_after_remember = True
    with pytest.raises(Crash):
        control(outbox.entry(1, "pause"))  # its change_time was recorded, its row never committed
    outbox.crash_after_remember = False
    control(outbox.entry(1, "pause"))  # the resend must not take an old pause of someone else for its own
    assert [s for s, _ in written(control)] == [0, 1, 0] and control.current() is False


def test_a_row_stamped_at_the_very_moment_of_another_is_made_newer_by_a_microsecond(switch_url, outbox):
    writer = SqlControl(switch_url, remember=outbox.remember, own_writes=outbox.own, now=lambda: T)
    person(writer, 1, T.replace(tzinfo=None))  # a person's row at exactly SpyAgency's clock reading
    writer(outbox.entry(1, "pause"))
    assert writer.rows()[-1] == SwitchRow(0, T.replace(tzinfo=None) + timedelta(microseconds=1))
    assert writer.current() is False  # never two rows sharing the newest change_time
    writer.close()
