"""A SpyAgency process for kill tests: the parent starts it, waits for its marker line, then SIGKILLs it.

Not a test module. Usage: python tests/agency_process.py MODE NOW_ISO, with the store, Tier0 and
CondDB addresses in SPYAGENCY_* variables. Modes:
  steer               plan and deliver, then exit (prints how many actions were sent)
  die-after-plan      plan (commit the outbox row), print KILL-ME and wait to be killed
  die-after-send      plan, send to Tier0, print KILL-ME before writing down that it was sent
  reconcile           print cycle-start, run one observe → decide cycle, print decided N, exit
  steer-race          wait for the file named by SPYAGENCY_TEST_GO, then steer 25 times as fast as it can
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime
from pathlib import Path

from spyagency import steering
from spyagency.agency import Agency
from spyagency.clock import ManualClock
from spyagency.settings import Settings
from spyagency.store.tables import OutboxRow


def wait_to_be_killed(_row: OutboxRow | None = None) -> None:
    print("KILL-ME", flush=True)
    while True:
        time.sleep(60)


def main(mode: str, now_iso: str) -> int:
    now = datetime.fromisoformat(now_iso)
    agency = Agency(Settings(), clock=ManualClock(now))
    if mode == "steer":
        print(f"sent {agency.steer_once()}", flush=True)
    elif mode == "die-after-plan":
        steering.plan(agency.store, agency.policy, now)
        wait_to_be_killed()
    elif mode == "die-after-send":
        steering.plan(agency.store, agency.policy, now)
        steering.deliver(agency.store, agency.control(), now, after_send=wait_to_be_killed)
    elif mode == "steer-race":
        print("ready", flush=True)
        go = Path(os.environ["SPYAGENCY_TEST_GO"])
        while not go.exists():
            time.sleep(0.001)
        sent = sum(agency.steer_once() for _ in range(25))
        print(f"sent {sent}", flush=True)
    elif mode == "reconcile":
        print("cycle-start", flush=True)
        cycle = agency.reconcile_once()
        print(f"decided {len(cycle.decision.verdicts)}", flush=True)
    else:
        print(f"unknown mode {mode}", file=sys.stderr)
        return 2
    agency.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
