"""A SpyAgency process for kill tests: the parent starts it, waits for its marker line, then SIGKILLs it.

Not a test module. Usage: python tests/support/agency_process.py MODE NOW_ISO, with the store, Tier0 and
CondDB addresses in SPYAGENCY_* variables. Modes:
  steer               plan and deliver, then exit (prints how many actions were sent)
  die-after-plan      plan (commit the outbox row), print KILL-ME and wait to be killed
  die-after-send      plan, send to Tier0, print KILL-ME before writing down that it was sent
  reconcile           print cycle-start, run one observe → decide cycle, print decided N, exit
  die-at:MARKER       run the same cycle, but print KILL-ME and wait to be killed at MARKER (one of
                      CRASH_POINTS: between the steps' commits, or inside a poll's or decide's open
                      transaction), so that a kill lands exactly there
  steer-race          wait for the file named by SPYAGENCY_TEST_GO, then steer 25 times as fast as it can
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime
from pathlib import Path

from spyagency.agency import Agency
from spyagency.clock import ManualClock
from spyagency.passes import steer as steering
from spyagency.settings import Settings
from spyagency.store.tables import OutboxRow


def wait_to_be_killed(_row: OutboxRow | None = None) -> None:
    print("KILL-ME", flush=True)
    while True:
        time.sleep(60)


#: Where a ``die-at`` child stops: after a step committed, or inside an open transaction.
CRASH_POINTS = ("inside-conddb-poll", "after-conddb-poll", "inside-tier0-poll", "after-tier0-poll",
                "inside-dqm-poll", "after-dqm-poll", "inside-decide")


def cycle_dying_at(agency: Agency, marker: str) -> None:
    """One observe → decide cycle that waits to be killed at ``marker``."""
    from spyagency.core.models import Source
    from spyagency.passes import decide as decisions
    from spyagency.passes import observe as polling

    record_success = polling.obs.record_success

    def record_then_die(session, source, *args, **kwargs):  # type: ignore[no-untyped-def]
        record_success(session, source, *args, **kwargs)
        if marker == f"inside-{source.value}-poll":
            session.flush()
            wait_to_be_killed()  # the poll's writes are flushed, not committed

    polling.obs.record_success = record_then_die  # type: ignore[assignment]
    for source in (Source.CONDDB, Source.TIER0, Source.DQM):
        agency.poll(source)
        if marker == f"after-{source.value}-poll":
            wait_to_be_killed()
    now = agency.clock.now()
    if marker == "inside-decide":  # everything read and decided, nothing saved yet
        decisions.save_verdicts = lambda *_args: wait_to_be_killed()  # type: ignore[assignment]
    decisions.decide_all(agency.store, agency.policy, now)
    raise AssertionError(f"no crash point {marker!r}")


def main(mode: str, now_iso: str) -> int:
    now = datetime.fromisoformat(now_iso)
    agency = Agency(Settings(), clock=ManualClock(now))
    if mode == "steer":
        print(f"sent {agency.steer().delivered}", flush=True)
    elif mode == "die-after-plan":
        steering.plan(agency.store, agency.policy, now)
        wait_to_be_killed()
    elif mode == "die-after-send":
        steering.plan(agency.store, agency.policy, now)
        from spyagency.store import outbox

        outbox.mark_sent = lambda *_args: wait_to_be_killed()  # type: ignore[assignment]  # killed before "sent"
        steering.deliver(agency.store, agency.control(), now)
    elif mode == "steer-race":
        print("ready", flush=True)
        go = Path(os.environ["SPYAGENCY_TEST_GO"])
        while not go.exists():
            time.sleep(0.001)
        sent = sum(agency.steer().delivered for _ in range(25))
        print(f"sent {sent}", flush=True)
    elif mode.startswith("die-at:"):
        cycle_dying_at(agency, mode.removeprefix("die-at:"))
    elif mode == "reconcile":
        print("cycle-start", flush=True)
        cycle = agency.observe_and_decide()
        print(f"decided {len(cycle.decision.verdicts)}", flush=True)
    else:
        print(f"unknown mode {mode}", file=sys.stderr)
        return 2
    agency.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
