"""Benchmark 5: Tier0's release query while anonymous clients flood the rest of the service.

The release API alone is measured first (the baseline, same process, same run). Then, while it is
measured again, 64 anonymous connections hammer /metrics, 32 the dashboard, and 500 sockets hold
half-sent requests open. The figures show whether one clumsy neighbour can slow Tier0's question.
"""

from __future__ import annotations

import socket
import subprocess
import tempfile
import threading
from pathlib import Path

from spyagency.settings import Settings

from .release_load import RANDOM_RUN, LoadFigures, wrk
from .serving import ApiProcess

HALF_OPEN = 500
TARGET_P99_MS = 50.0


def _half_open(port: int, count: int, stop: threading.Event) -> None:
    """Open ``count`` connections that send the start of a request and never finish it."""
    sockets = []
    try:
        for _ in range(count):
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=2)
                sock.sendall(b"GET /api/v1/runs HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                sockets.append(sock)
            except OSError:
                break
        stop.wait()
    finally:
        for sock in sockets:
            sock.close()


def run(settings: Settings, low_run: int, high_run: int, seconds: int = 5) -> dict[str, object]:
    """Measure the release API alone, then under the flood; print both and their ratio."""
    print(f"== 5. release API while anonymous clients flood the rest ({seconds} s each; 4 Tier0 connections)")
    script = Path(tempfile.mkdtemp()) / "random_run.lua"
    script.write_text(RANDOM_RUN.replace("{low}", str(low_run)).replace("{high}", str(high_run)))
    api = ApiProcess(settings)
    stop = threading.Event()
    try:
        wrk(api.url + "/", "warm-up", 2, 4, script)
        alone = wrk(api.url + "/", "release API alone", seconds, 4, script)
        slow = threading.Thread(target=_half_open, args=(api.port, HALF_OPEN, stop), daemon=True)
        slow.start()
        floods = [subprocess.Popen(["wrk", "-t1", f"-c{c}", f"-d{seconds + 2}s", api.url + path],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                  for path, c in (("/metrics", 64), ("/", 32))]
        flooded = wrk(api.url + "/", "release API under the flood", seconds, 4, script)
        for flood in floods:
            flood.wait()
    finally:
        stop.set()
        api.stop()
    for figures in (alone, flooded):
        _print(figures)
    print(f"  p99 under the flood: {flooded.p99_ms:.1f} ms (target < {TARGET_P99_MS:.0f} ms); "
          f"ratio of p99 flooded/alone {flooded.p99_ms / max(alone.p99_ms, 0.001):.1f}; "
          f"throughput ratio {flooded.requests_per_s / alone.requests_per_s:.2f}")
    return {"alone": alone, "flooded": flooded}


def _print(figures: LoadFigures) -> None:
    print(f"  {figures.label:<30} {figures.requests_per_s:8.0f} req/s  p50 {figures.p50_ms:6.2f} ms  "
          f"p99 {figures.p99_ms:6.2f} ms  non-2xx {figures.errors}")


def main() -> None:
    """`python -m benchmarks.flood [--repeat N]`: benchmark 5 alone, on a 10x history, N times in a row."""
    import argparse
    import logging

    from spyagency.clock import utcnow
    from spyagency.policy import load_policy

    from . import memory, poll_cycle
    from .scene import ACTIVE_FIRST_RUN, ACTIVE_RUNS, build

    parser = argparse.ArgumentParser(prog="python -m benchmarks.flood")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    history_runs = poll_cycle.BASE_HISTORY_RUNS * 10
    scene = build(history_runs, utcnow(), load_policy())
    try:
        memory.run(scene.settings, f"first cycle, {history_runs} history runs")  # decides every active run
        p99s = []
        for _ in range(args.repeat):
            figures = run(scene.settings, ACTIVE_FIRST_RUN - history_runs, ACTIVE_FIRST_RUN + ACTIVE_RUNS - 1,
                          seconds=args.seconds)
            flooded = figures["flooded"]
            assert isinstance(flooded, LoadFigures)
            p99s.append(flooded.p99_ms)
        met = sum(p < TARGET_P99_MS for p in p99s)
        print(f"p99 under the flood in {len(p99s)} runs: {', '.join(f'{p:.0f}' for p in p99s)} ms; "
              f"target < {TARGET_P99_MS:.0f} ms met in {met} of {len(p99s)}")
    finally:
        scene.close()


if __name__ == "__main__":
    main()
