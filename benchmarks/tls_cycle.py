"""Benchmark 10: what the grid doors cost a poll cycle: HTTPS with a client proxy against plain HTTP.

Two scenes of the same runs (benchmark 1's, 200 history runs), one served over plain HTTP, one behind the
simulator's grid door (TLS 1.3, client certificate required, an RFC 3820 proxy presented); both polled by an
Agency whose clients keep their connections alive across cycles, as the embedded loop and a long-lived
worker do. Printed as ratios against the plain scene, measured in this same process, interleaved:

* the first cycle (every connection opened: the handshakes of up to 8 connections per source);
* incremental cycles (connections reused: the cost of encryption alone);
* one request on a new connection, and on a kept-alive one (the handshake itself).

`python -m benchmarks.tls_cycle [--cycles N]`
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from simulator.httpserver import Door
from simulator.pki import make_grid_pki
from spyagency.agency import Agency
from spyagency.clock import utcnow
from spyagency.policy import load_policy
from spyagency.sources.grid import TlsSetup, find_identity, find_trust
from spyagency.sources.tier0 import Tier0Client

from .scene import ACTIVE_SPACING, Scene, build


def _timed(step: Callable[[], object]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def _request_costs(scene: Scene, tls: TlsSetup | None, repeats: int) -> tuple[float, float]:
    """Median seconds of one GET on a new connection, and on a kept-alive one."""
    fresh, reused = [], []
    for _ in range(repeats):
        client = Tier0Client(scene.settings.tier0_url, retries=0, tls=tls)
        fresh.append(_timed(client.first_conditions_safe_run))
        reused.append(_timed(client.first_conditions_safe_run))
        client.close()
    return statistics.median(fresh), statistics.median(reused)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=9)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    policy = load_policy()
    now = utcnow().replace(microsecond=0)
    pki = make_grid_pki(Path(tempfile.mkdtemp(prefix="spyagency-bench-grid-")))
    door = Door.from_files(pki.host_cert, pki.host_key, pki.ca_dir, pki.members)
    plain = build(200, now, policy)
    secured = build(200, now, policy, door=door, grid_cert=str(pki.proxy), grid_ca_dir=str(pki.ca_dir))
    agencies = {"plain": Agency(plain.settings, clock=plain.clock, policy=policy),
                "tls": Agency(secured.settings, clock=secured.clock, policy=policy)}
    scenes = {"plain": plain, "tls": secured}
    try:
        first = {name: _timed(agency.observe_and_decide) for name, agency in agencies.items()}
        cycles: dict[str, list[float]] = {"plain": [], "tls": []}
        http_polls: dict[str, list[float]] = {"plain": [], "tls": []}
        for _ in range(args.cycles):
            for name, agency in agencies.items():  # interleaved: a noisy moment hits both
                scene = scenes[name]
                scene.clock.advance(ACTIVE_SPACING)
                scene.sim.advance(scene.clock.now())
                started = time.perf_counter()
                cycle = agency.observe_and_decide()
                cycles[name].append(time.perf_counter() - started)
                failed = [p.error for p in cycle.polls if not p.ok]
                if failed:
                    raise SystemExit(f"{name} cycle failed: {failed}")
                http_polls[name].append(sum(p.duration_s for p in cycle.polls if p.source.value != "conddb"))
        tls = TlsSetup(find_trust({}, str(pki.ca_dir)), find_identity({}, str(pki.proxy)))
        plain_fresh, plain_reused = _request_costs(plain, None, args.requests)
        tls_fresh, tls_reused = _request_costs(secured, tls, args.requests)
    finally:
        for agency in agencies.values():
            agency.close()
        for scene in scenes.values():
            scene.sim.stop()
    median = {name: statistics.median(values) for name, values in cycles.items()}
    polls = {name: statistics.median(values) for name, values in http_polls.items()}
    print("== 10. the grid doors' cost: HTTPS + client proxy against plain HTTP, same runs, same process")
    print(f"first cycle (every connection opened)   plain {first['plain'] * 1000:7.1f} ms   "
          f"tls {first['tls'] * 1000:7.1f} ms   ratio {first['tls'] / first['plain']:.2f}")
    print(f"incremental cycle, median of {args.cycles}       plain {median['plain'] * 1000:7.1f} ms   "
          f"tls {median['tls'] * 1000:7.1f} ms   ratio {median['tls'] / median['plain']:.2f}")
    print(f"  of which the Tier0 and DQM polls      plain {polls['plain'] * 1000:7.1f} ms   "
          f"tls {polls['tls'] * 1000:7.1f} ms   ratio {polls['tls'] / polls['plain']:.2f}")
    print(f"one GET on a new connection             plain {plain_fresh * 1000:7.2f} ms   "
          f"tls {tls_fresh * 1000:7.2f} ms   ratio {tls_fresh / plain_fresh:.2f}")
    print(f"one GET on a kept-alive connection      plain {plain_reused * 1000:7.2f} ms   "
          f"tls {tls_reused * 1000:7.2f} ms   ratio {tls_reused / plain_reused:.2f}")
    print(f"so one handshake costs about {(tls_fresh - tls_reused) * 1000:.1f} ms; a cycle keeps its connections")


if __name__ == "__main__":
    main()
