"""Benchmark 9: what replaying decisions costs, on the store a season leaves behind.

``python -m benchmarks.replay_history [--days 14] [--seed 1] [--store FILE]`` plays a season (benchmark 8)
keeping its store, or reads a store kept earlier, and prints:

- store growth: the decision records (every distinct decision with the facts it was made from) and
  the whole store, per 1,000 runs and per run per day of data taking;
- ``explain`` of one run at a moment, over the season's records (1x) and again after the table was
  grown to 100x its rows with the records of other runs (ratio, target < 1.5);
- the what-if over the whole recorded period (every decision replayed, and steering at every moment
  it could change), with its time scaled to a month of 1,500 runs.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from spyagency.policy import load_policy
from spyagency.store import Store
from spyagency.store.decision_records import decision_at
from spyagency.views.explain import explain
from spyagency.views.what_if import what_if

#: runs of the copies that grow the table: far below any real run number
COPY_OFFSET = 10_000_000


def _sample(store: Store, count: int, seed: int) -> list[tuple[int, datetime]]:
    """(run, moment) pairs to explain: recorded runs at their recorded moments."""
    from sqlalchemy import select

    from spyagency.store.tables import DecisionRecord

    with store.session() as session:
        rows = list(session.execute(select(DecisionRecord.run, DecisionRecord.decided_at)
                                    .where(DecisionRecord.run < COPY_OFFSET)))
    return random.Random(seed).sample(rows, min(count, len(rows)))


def time_explain(store: Store, moments: list[tuple[int, datetime]]) -> float:
    """Median seconds to rebuild and replay one run's decision at a moment."""
    policy = load_policy()
    taken = []
    for run, at in moments:
        started = time.perf_counter()
        with store.session() as session:
            record = decision_at(session, run, at)
        assert record is not None
        explain(record, policy)
        taken.append(time.perf_counter() - started)
    return statistics.median(taken)


def grow(path: Path, factor: int) -> int:
    """Copy the decision records ``factor - 1`` times under other run numbers; return the rows then."""
    with sqlite3.connect(path) as db:
        columns = "decided_at, policy, digest, facts, decision"
        for copy in range(1, factor):
            db.execute(f"INSERT INTO decision_records (run, {columns}) SELECT run + ?, {columns} "
                       f"FROM decision_records WHERE run < ?", (COPY_OFFSET + copy * 1_000_000, COPY_OFFSET))
        db.execute("ANALYZE")
        return int(db.execute("SELECT count(*) FROM decision_records").fetchone()[0])


def growth(path: Path, days: float) -> tuple[int, int, int, int]:
    """(runs, records, bytes of records, bytes of the store file)."""
    with sqlite3.connect(path) as db:
        runs = db.execute("SELECT count(*) FROM runs").fetchone()[0]
        records, size = db.execute("SELECT count(*), coalesce(sum(length(facts) + length(decision) + 120), 0) "
                                   "FROM decision_records").fetchone()
    return int(runs), int(records), int(size), path.stat().st_size


def run(path: Path, days: float) -> None:
    Store(f"sqlite:///{path}").migrate()  # a store kept by an older version is brought to the newest schema
    runs, records, record_bytes, store_bytes = growth(path, days)
    print(f"== 9. replaying decisions: a {days:g}-day season's store ({runs} runs, {records} decision records)")
    print(f"  store growth: decision records {record_bytes / runs * 1000 / 2**20:.1f} MiB per 1,000 runs "
          f"({record_bytes / runs / 1024:.1f} KiB a run, {records / runs:.1f} records a run); whole store "
          f"{store_bytes / runs * 1000 / 2**20:.1f} MiB per 1,000 runs; "
          f"{store_bytes / runs / max(days, 1e-9) / 1024:.1f} KiB per run per day of the season")
    store = Store(f"sqlite:///{path}")
    moments = _sample(store, 200, seed=1)
    base = time_explain(store, moments)
    policy = load_policy()
    with store.session() as session:
        start, end = session.execute(_span()).one()
    started = time.perf_counter()
    with store.session() as session:
        found = what_if(session, policy, start, end)
    replay_s = time.perf_counter() - started
    store.dispose()
    total = grow(path, 100)
    store = Store(f"sqlite:///{path}")
    grown = time_explain(store, moments)
    store.dispose()
    print(f"  explain of one run at a moment: {base * 1000:.1f} ms over {records} records; {grown * 1000:.1f} ms over "
          f"{total} (100x): ratio {grown / base:.2f} (target < 1.5)")
    per_run = replay_s / max(1, runs)
    print(f"  what-if over the whole season ({found.records} decisions recorded in it, steering at every moment "
          f"it could change): {replay_s:.1f} s, {len(found.steering)} steering difference(s) under the same policy; "
          f"a month of 1,500 runs at this rate: {per_run * 1500 / 60:.1f} min")


def _span():  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from spyagency.store.tables import DecisionRecord

    return select(func.min(DecisionRecord.decided_at), func.max(DecisionRecord.decided_at))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.replay_history", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=float, default=14.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--store", type=Path, help="a season's store kept earlier (it is copied, not changed)")
    parser.add_argument("--keep", type=Path, help="where to keep the season's store, for another --store run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="spyagency-replay-bench-") as tmp:
        path = Path(tmp) / "store.db"
        if args.store:
            with sqlite3.connect(args.store) as source, sqlite3.connect(path) as copy:
                source.backup(copy)
        else:
            from tests.support.season import plan_season, play

            season = play(plan_season(args.days, args.seed), keep_store=path,
                          progress=(lambda line: print(f"   … {line}", flush=True)) if args.days > 7 else None)
            print(f"   season played: {season.runs} runs, {season.cycles} cycles in {season.wall_s:.0f} s")
            if args.keep:
                with sqlite3.connect(path) as source, sqlite3.connect(args.keep) as copy:
                    source.backup(copy)
        run(path, args.days)


if __name__ == "__main__":
    main()
