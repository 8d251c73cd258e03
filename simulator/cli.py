"""`spyagency simulate` and `spyagency demo`: the simulator's commands, plugged into the core's CLI.

The core never imports the simulator: these commands arrive through the ``spyagency.commands``
entry point group, like the API's ``serve``.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from simulator.httpserver import Door
from simulator.pki import make_grid_pki
from simulator.scenario import demo_runs
from simulator.simulator import Simulator
from spyagency.agency import Agency
from spyagency.cli import _door, _store
from spyagency.clock import Clock, ManualClock, ScaledClock, utcnow
from spyagency.policy import Policy
from spyagency.ports import port_in_use, reserve
from spyagency.settings import Settings
from spyagency.store.observations import tier0_global
from spyagency.store.queries import list_runs
from spyagency.store.switch import switch_picture
from spyagency.tier0_instance import instance_policy
from spyagency.views.demo_story import DemoStory, expert_token, switch_line
from spyagency.views.report import runs_table


def _start_ticker(sim: Simulator, clock: Clock, stop: threading.Event,
                  every_s: float = 0.05) -> threading.Thread:
    def tick() -> None:
        while not stop.is_set():
            sim.advance(clock.now())
            stop.wait(every_s)

    thread = threading.Thread(target=tick, name="sim-ticker", daemon=True)
    thread.start()
    return thread


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    for option, wanted in (("--tier0-port", args.tier0_port), ("--dqm-port", args.dqm_port)):
        if port_in_use("127.0.0.1", wanted):
            print(f"simulate: {option} {wanted} is in use (another simulator or service); pick another",
                  file=sys.stderr)
            return 2
    policy = instance_policy(settings)
    start = utcnow()
    clock = ScaledClock(start, args.speed)
    workdir = Path(args.workdir)
    door = _grid_door(Path(args.tls)) if args.tls else None
    with Simulator(policy, demo_runs(policy, start, extra_runs=args.runs), workdir, start,
                   tier0_port=args.tier0_port, dqm_port=args.dqm_port, dqm_api=args.dqm_api, door=door) as sim:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        _start_ticker(sim, clock, stop)
        print(f"Tier0 Data Service  {sim.tier0_url}\nDQM GUI             {sim.dqm_url} ({args.dqm_api} API)\n"
              f"CondDB              {sim.conddb_url}\nclock speed         {args.speed}x (Ctrl-C stops)")
        if args.tls:
            tls = Path(args.tls).resolve()
            print(f"grid doors          a client certificate is required (members: {tls / 'members.txt'});\n"
                  f"                    poll with SPYAGENCY_TIER0_URL={sim.tier0_url} SPYAGENCY_DQM_URL={sim.dqm_url}\n"
                  f"                    X509_CERT_DIR={tls / 'certificates'} X509_USER_PROXY={tls / 'x509up'}")
        try:
            while not stop.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
        stop.set()
    return 0


def _grid_door(directory: Path) -> Door:
    """The front end's door over the grid PKI in ``directory``, made there first if it is not there yet."""
    if not (directory / "hostcert.pem").is_file():
        make_grid_pki(directory)
    return Door.from_files(directory / "hostcert.pem", directory / "hostkey.pem", directory / "certificates",
                           directory / "members.txt")


#: Tokens of the demo when none are configured (never use these outside a demo).
DEMO_TOKENS = "demo-expert=alca-expert-demo:alca-expert|operator,demo-tier0=tier0:tier0,demo-operator=shifter:operator"


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Simulator + reconcile loop on a fast clock, printing readiness as runs progress."""
    if not args.verbose:  # the demo prints its own story, on the simulated clock
        logging.getLogger("spyagency").setLevel(logging.ERROR)
    listener = _reserve_port(args.port) if args.serve else None
    if args.serve and listener is None:
        print(f"port {args.port} is in use (another SpyAgency or another service): pick one with --port, "
              f"or run with --no-serve", file=sys.stderr)
        return 2
    policy = instance_policy(settings)
    start = utcnow()
    # the demo moves its clock a fixed step per cycle: a slow machine shows the same story, more slowly
    clock = ManualClock(start)
    temporary = args.workdir is None
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="spyagency-demo-"))
    try:
        return _run_demo(args, settings, policy, start, clock, workdir, listener)
    finally:
        if listener is not None:
            listener.close()
        if temporary:
            shutil.rmtree(workdir, ignore_errors=True)


def _reserve_port(port: int) -> socket.socket | None:
    """127.0.0.1:``port`` held for the demo's API before the simulator's servers take ports (the kernel
    could give one of them the same port); None when it is taken."""
    if port_in_use("127.0.0.1", port):
        return None
    try:
        return reserve("127.0.0.1", port)
    except OSError:
        return None


def _run_demo(args: argparse.Namespace, settings: Settings, policy: Policy, start: datetime, clock: ManualClock,
              workdir: Path, listener: socket.socket | None) -> int:
    db_path = workdir / "spyagency.db"
    db_path.unlink(missing_ok=True)
    with Simulator(policy, demo_runs(policy, start), workdir / "sim", start) as sim:
        demo_settings = settings.model_copy(update={
            "db_url": f"sqlite:///{db_path}", "tier0_url": sim.tier0_url, "dqm_url": sim.dqm_url,
            "conddb_url": sim.conddb_url, "http_retries": 1, "http_timeout_s": 2.0,
            "steer_mode": "sql", "tier0_control_db_url": sim.switch_url,
            "tokens": settings.tokens or DEMO_TOKENS})
        _store(demo_settings).dispose()
        agency = Agency(demo_settings, clock=clock, policy=policy)
        # SpyAgency was watching before the story starts: a first look, then a second one once the
        # configurations read can be believed (two agreeing reads, policy agreement_minutes)
        sim.advance(clock.now())
        agency.observe_and_decide()
        clock.current = start + policy.sources.agreement
        stop = threading.Event()
        _start_ticker(sim, clock, stop)
        server = None
        api_url = None
        if args.serve:
            start_api = _door("spyagency.servers", "api")
            server = start_api(demo_settings, clock, args.port, listener)
            api_url = f"http://127.0.0.1:{args.port}"
            print(f"dashboard: {api_url}/   tokens: {demo_settings.tokens}")
        print(f"demo: simulated clock at {args.speed:g}x, store {db_path}\n")
        story = DemoStory(agency, clock, api_url, expert_token(demo_settings.tokens))
        seen: dict[int, str] = {}
        steered: list[Any] = []
        # a fault in one run's Tier0 answers, for two simulated hours: only that run is affected
        faulty_run, fault_from, fault_until = 386930, start + timedelta(hours=1), start + timedelta(hours=3)
        next_table = 0.0
        step = timedelta(seconds=args.speed * args.interval)  # simulated time per cycle
        end = start + timedelta(seconds=args.speed * args.duration)
        try:
            while clock.now() < end:
                cycle_started = time.monotonic()
                faulty = fault_from <= clock.now() < fault_until
                if faulty != (faulty_run in sim.world.tier0_run_faults):
                    (sim.world.tier0_run_faults.add if faulty else sim.world.tier0_run_faults.discard)(faulty_run)
                    print(f"[{clock.now():%a %H:%M} sim] Tier0 Data Service {'fails' if faulty else 'answers again'}"
                          f" for run {faulty_run} only")
                sim.advance(clock.now())
                cycle = agency.observe_and_decide()
                agency.steer()
                agency.warn(story.print_warning)  # no webhook or e-mail in the demo: warnings are printed
                now = clock.now()
                for verdict in cycle.decision.verdicts:
                    if seen.get(verdict.run) != verdict.state.value:
                        seen[verdict.run] = verdict.state.value
                        print(f"[{now:%a %H:%M} sim] run {verdict.run} -> {verdict.state.value}: "
                              f"{verdict.reasons[0] if verdict.reasons else ''}")
                for action in sim.world.control_actions[len(steered):]:
                    steered.append(action)
                    who = "by hand" if action.by_hand else "by SpyAgency"
                    with agency.store.session() as session:
                        last = switch_picture(session).last_action
                    why = last.reason if last is not None and not action.by_hand else "the Offline Run Manager"
                    print(f"[{now:%a %H:%M} sim] Tier0 prompt reco {'RESUMED' if action.enabled else 'PAUSED'}"
                          f" {who}: {why} (row ({int(action.enabled)}, {action.at:%Y-%m-%d %H:%M:%S.%f}) "
                          f"inserted into promptreco_status)")
                    if not action.enabled and who == "by SpyAgency":
                        story.expert_will_answer(now)
                story.step(now)
                if time.monotonic() >= next_table:
                    with agency.store.session() as session:
                        paused = tier0_global(session).promptreco_enabled is False
                        shown = list_runs(session, limit=20, with_workflows=False)
                        if shown:  # no empty table while nothing is decided yet
                            print("\n" + runs_table(shown, now, paused) + "\n")
                    next_table = time.monotonic() + args.table_every
                time.sleep(max(0.0, args.interval - (time.monotonic() - cycle_started)))  # at most `speed`
                clock.advance(step)
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            if server is not None:
                server.should_exit = True
            agency.close()
        with agency.store.session() as session:
            paused = tier0_global(session).promptreco_enabled is False
            print("\nfinal:\n" + runs_table(list_runs(session, limit=20, with_workflows=False), clock.now(), paused))
            print(switch_line(session, policy, clock.now()))
    return 0
