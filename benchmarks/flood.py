"""Benchmark 5: Tier0's release query while anonymous clients flood the rest of the service.

The release API alone is measured first (the baseline, same process, same run). Then, while
64 anonymous connections hammer /metrics, 32 the dashboard, and 500 sockets hold half-sent
requests open on each port, it is measured twice: asked on the main service's port (one
process for everything), and asked on Tier0's own listener (`spyagency serve-release`, its own
process). The figures show whether one clumsy neighbour can slow Tier0's question.
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
    listener = ApiProcess(settings, command_name="serve-release")
    stop = threading.Event()
    try:
        for url in (api.url, listener.url):
            wrk(url + "/", "warm-up", 2, 4, script)
        alone = wrk(listener.url + "/", "release API alone", seconds, 4, script)
        for port in (api.port, listener.port):
            threading.Thread(target=_half_open, args=(port, HALF_OPEN, stop), daemon=True).start()
        floods = [subprocess.Popen(["wrk", "-t1", f"-c{c}", f"-d{2 * seconds + 4}s", api.url + path],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                  for path, c in (("/metrics", 64), ("/", 32))]
        shared = wrk(api.url + "/", "flooded, asked on the main port", seconds, 4, script)
        flooded = wrk(listener.url + "/", "flooded, asked on Tier0's listener", seconds, 4, script)
        for flood in floods:
            flood.wait()
    finally:
        stop.set()
        api.stop()
        listener.stop()
    for figures in (alone, shared, flooded):
        _print(figures)
    print(f"  p99 on Tier0's listener under the flood: {flooded.p99_ms:.1f} ms (target < {TARGET_P99_MS:.0f} ms); "
          f"ratio flooded/alone {flooded.p99_ms / max(alone.p99_ms, 0.001):.1f}; on the main port it is "
          f"{shared.p99_ms:.1f} ms (ratio {shared.p99_ms / max(alone.p99_ms, 0.001):.1f})")
    return {"alone": alone, "shared": shared, "flooded": flooded}


def _print(figures: LoadFigures) -> None:
    print(f"  {figures.label:<36} {figures.requests_per_s:8.0f} req/s  p50 {figures.p50_ms:6.2f} ms  "
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
        p99s: list[float] = []
        shared: list[float] = []
        for _ in range(args.repeat):
            figures = run(scene.settings, ACTIVE_FIRST_RUN - history_runs, ACTIVE_FIRST_RUN + ACTIVE_RUNS - 1,
                          seconds=args.seconds)
            for key, series in (("flooded", p99s), ("shared", shared)):
                measured = figures[key]
                assert isinstance(measured, LoadFigures)
                series.append(measured.p99_ms)
        met = sum(p < TARGET_P99_MS for p in p99s)
        print(f"p99 under the flood in {len(p99s)} runs, on Tier0's listener: "
              f"{', '.join(f'{p:.1f}' for p in p99s)} ms (target < {TARGET_P99_MS:.0f} ms met in {met} of "
              f"{len(p99s)}); on the main port: {', '.join(f'{p:.0f}' for p in shared)} ms")
    finally:
        scene.close()


if __name__ == "__main__":
    main()
