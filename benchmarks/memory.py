"""Benchmark 4b: peak RSS of one poll cycle (`spyagency poll --once`) over the decade of history.

The cycle runs in its own process and reports its own VmHWM (the high-water mark of the
process's memory since exec; a fork's copy of this benchmark's memory does not count). The
baseline is the same interpreter importing the core and doing nothing, measured the same way.
"""

from __future__ import annotations

import os
import subprocess
import sys

from spyagency.settings import Settings

REPORT = "print('VmHWM', [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')][0])"
POLL_ONCE = "from spyagency.cli import main; code = main(['poll', '--once']); assert code in (0, 3), code; "
IMPORT_ONLY = "import spyagency.agency, spyagency.cli; "


def _peak_rss_mib(program: str, env: dict[str, str]) -> float:
    done = subprocess.run([sys.executable, "-c", program + REPORT], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"measured process failed: {done.stderr[-2000:]}")
    line = next(line for line in done.stdout.splitlines() if line.startswith("VmHWM"))
    return int(line.split()[1]) / 1024  # kB → MiB


def run(settings: Settings, label: str) -> dict[str, float]:
    """Peak RSS of a poll cycle against ``settings`` and of a bare import, in MiB."""
    env = {**os.environ, "SPYAGENCY_DB_URL": settings.db_url, "SPYAGENCY_TIER0_URL": settings.tier0_url,
           "SPYAGENCY_DQM_URL": settings.dqm_url, "SPYAGENCY_CONDDB_URL": settings.conddb_url,
           "SPYAGENCY_LOOKBACK_HOURS": str(settings.lookback_hours)}
    baseline = _peak_rss_mib(IMPORT_ONLY, env)
    cycle = _peak_rss_mib(POLL_ONCE, env)
    print(f"== 4b. peak RSS of one `spyagency poll --once` ({label}): {cycle:.0f} MiB "
          f"(bare import of the core: {baseline:.0f} MiB; ratio {cycle / baseline:.2f})")
    return {"cycle_mib": cycle, "baseline_mib": baseline}
