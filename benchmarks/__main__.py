"""Run every benchmark and print its figures: `python -m benchmarks [--quick]` (or `bash benchmarks/run`).

1. poll+decide cycle at 1x, 10x and 100x history (20,000 runs x 25 tags at 100x); 1b. the cycle in fresh
   processes, as Airflow runs it
2. release API under wrk load, against a trivial endpoint of the same process
3. freshness: CondDB payload to release flip, with the embedded loop
4. peak RSS of the API process and of one poll cycle over the decade of history
5. the release API while anonymous clients flood /metrics, the dashboard and half-open sockets
6. the quality watch on a simulated season against a fixed-threshold baseline
7. the landing forecast backtested on a season with backlogs, against the fixed "6 h before lock" rule

The season (8, ``python -m benchmarks.season``) and replaying decisions (9, ``python -m
benchmarks.replay_history``) run alone: each plays a season first. So does the grid doors' cost (10,
``python -m benchmarks.tls_cycle``): HTTPS with a client proxy against plain HTTP.
"""

from __future__ import annotations

import argparse
import logging
import time

from spyagency.clock import utcnow
from spyagency.policy import load_policy

from . import cold_cycle, flood, forecast, freshness, memory, poll_cycle, quality_watch, release_load
from .scene import ACTIVE_FIRST_RUN, ACTIVE_RUNS, build


def release_load_on_postgres(history_runs: int, seconds: int) -> None:
    """Benchmark 2 again with the store on a PostgreSQL server (reads go through worker threads)."""
    from tests.support.pgserver import PostgresServer  # the tests' throw-away server: initdb in a temp dir

    if not PostgresServer.available():
        print("== 2b. skipped: PostgreSQL server binaries not installed (apt-get install postgresql)")
        return
    server = PostgresServer().start()
    try:
        scene = build(history_runs, utcnow(), load_policy(), db_url=server.create_database())
        try:
            memory.run(scene.settings, f"first cycle, PostgreSQL store, {history_runs} history runs")
            print("== 2b. the same on PostgreSQL:")
            release_load.run(scene.settings, ACTIVE_FIRST_RUN - history_runs, ACTIVE_FIRST_RUN + ACTIVE_RUNS - 1,
                             seconds=seconds)
        finally:
            scene.close()
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1x and 10x history only, shorter load runs")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    started = time.perf_counter()
    scales = (1, 10) if args.quick else (1, 10, 100)
    poll_cycle.run(scales)
    cold_cycle.main()

    # benchmarks 2 and 4 on the largest history, freshly built and decided at the present moment
    policy = load_policy()
    history_runs = poll_cycle.BASE_HISTORY_RUNS * scales[-1]
    scene = build(history_runs, utcnow(), policy)
    label = f"{history_runs} history runs, {scene.counts.iovs:,} IOVs"
    try:
        memory.run(scene.settings, f"first cycle, {label}")  # also decides every active run, on the wall clock
        release_load.run(scene.settings, ACTIVE_FIRST_RUN - history_runs, ACTIVE_FIRST_RUN + ACTIVE_RUNS - 1,
                         seconds=3 if args.quick else 5)
        memory.run(scene.settings, f"incremental cycle, {label}")
        flood.run(scene.settings, ACTIVE_FIRST_RUN - history_runs, ACTIVE_FIRST_RUN + ACTIVE_RUNS - 1,
                  seconds=3 if args.quick else 5)
    finally:
        scene.close()
    release_load_on_postgres(history_runs // 10, seconds=3 if args.quick else 5)
    freshness.run(samples=4 if args.quick else 8)
    for seed in (1, 2, 3):
        quality_watch.run(policy, runs=2000, seed=seed)
    forecast.run(runs=1000)
    print(f"all benchmarks took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
