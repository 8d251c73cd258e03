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
#: the attacks on Tier0's listener alone: how many sockets each uses
DRIPPING = 200  # each sends a request head one byte a second
HEADER_FLOODERS = 40  # each sends 1 MiB header lines, again and again
HALF_OPEN_CROWD = 4200  # each sends the start of a request and stays


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


def _drip(port: int, count: int, stop: threading.Event) -> None:
    """Open ``count`` connections that send a request head one byte a second, reconnecting when cut."""
    sockets: list[socket.socket | None] = [None] * count
    try:
        while not stop.is_set():
            for i, sock in enumerate(sockets):
                try:
                    if sock is None:
                        sock = socket.create_connection(("127.0.0.1", port), timeout=2)
                        sock.sendall(b"GET /api/v1/runs/1/release HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                        sockets[i] = sock
                    sock.sendall(b"X")
                except OSError:
                    if sock is not None:
                        sock.close()
                    sockets[i] = None
            stop.wait(1.0)
    finally:
        for sock in sockets:
            if sock is not None:
                sock.close()


def _header_flood(port: int, stop: threading.Event) -> None:
    """Send 1 MiB header lines on one connection after another until told to stop."""
    chunk = b"a" * 65536
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(b"GET /api/v1/runs/1/release HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
                for _ in range(16):
                    sock.sendall(chunk)
                sock.sendall(b"\r\n\r\n")
                sock.recv(1024)
        except OSError:
            stop.wait(0.01)


class _RssSampler:
    """The highest resident set size of a process while it runs (sampled every 50 ms)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_mib, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            try:
                for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.peak_mib = max(self.peak_mib, int(line.split()[1]) / 1024)
            except OSError:
                return

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mib


def attacks(settings: Settings, low_run: int, high_run: int, seconds: int = 5) -> dict[str, tuple[LoadFigures, float]]:
    """Tier0's listener quiet, then under each attack, a fresh process each: Tier0's p99 and peak RSS."""
    print(f"== 5b. Tier0's listener under a drip ({DRIPPING} sockets), a header flood ({HEADER_FLOODERS} sockets "
          f"sending 1 MiB header lines) and {HALF_OPEN_CROWD} half-open sockets ({seconds} s each)")
    script = Path(tempfile.mkdtemp()) / "random_run.lua"
    script.write_text(RANDOM_RUN.replace("{low}", str(low_run)).replace("{high}", str(high_run)))
    results: dict[str, tuple[LoadFigures, float]] = {}
    for name in ("quiet", "drip", "header flood", "half-open"):
        listener = ApiProcess(settings, command_name="serve-release")
        sampler = _RssSampler(listener.process.pid)
        stop = threading.Event()
        try:
            wrk(listener.url + "/", "warm-up", 2, 4, script)
            if name == "drip":
                threading.Thread(target=_drip, args=(listener.port, DRIPPING, stop), daemon=True).start()
            elif name == "header flood":
                for _ in range(HEADER_FLOODERS):
                    threading.Thread(target=_header_flood, args=(listener.port, stop), daemon=True).start()
            elif name == "half-open":
                threading.Thread(target=_half_open, args=(listener.port, HALF_OPEN_CROWD, stop), daemon=True).start()
            stop.wait(2.0)  # let the attack build up
            figures = wrk(listener.url + "/", name, seconds, 4, script)
        finally:
            stop.set()
            results[name] = (figures, sampler.stop())
            listener.stop()
    quiet, quiet_rss = results["quiet"]
    for name, (figures, rss) in results.items():
        print(f"  {name:<14} p99 {figures.p99_ms:7.2f} ms (ratio {figures.p99_ms / max(quiet.p99_ms, 0.001):5.1f})  "
              f"{figures.requests_per_s:7.0f} req/s  non-2xx {figures.errors:<6} peak RSS {rss:6.1f} MiB "
              f"(ratio {rss / max(quiet_rss, 0.001):4.2f})")
    return results


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
    """`python -m benchmarks.flood [--repeat N]`: benchmark 5 alone, on a 10x history: the attacks on Tier0's
    listener once, then the flood N times in a row."""
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
        attacks(scene.settings, ACTIVE_FIRST_RUN - history_runs, ACTIVE_FIRST_RUN + ACTIVE_RUNS - 1,
                seconds=args.seconds)
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
