"""The ``spyagency`` command: poll, status, steering, override, migrate; doors add serve, simulate and demo."""

from __future__ import annotations

import argparse
import getpass
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from spyagency.cli_arguments import moment, positive_int, run_number
from spyagency.clock import utcnow
from spyagency.errors import ConfigurationError, InputRefused, StoreUnavailable
from spyagency.policy import PolicyError
from spyagency.settings import Settings

if TYPE_CHECKING:
    from spyagency.store import Store

# Each command imports what it needs when it runs: `spyagency --help` and `status` load no HTTP client,
# no Alembic and no door they do not use.


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def _store(settings: Settings) -> Store:
    from spyagency.store import Store

    _ensure_sqlite_dir(settings.db_url)
    store = Store(settings.db_url)
    store.migrate()
    return store


def simulator_note(settings: Settings) -> str | None:
    """One line saying which sources are the simulator's default addresses, if any."""
    defaults = settings.simulator_defaults()
    if not defaults:
        return None
    return (f"note: {', '.join(defaults)} {'is' if len(defaults) == 1 else 'are'} at the default, the built-in "
            f"simulator on this machine (`spyagency simulate`); set {'it' if len(defaults) == 1 else 'them'} to "
            f"watch the real systems")


def cmd_poll(args: argparse.Namespace, settings: Settings) -> int:
    from spyagency.tier0_instance import instance_note
    from spyagency.views.report import terminal_safe

    for note in (simulator_note(settings), instance_note(settings.tier0_url)):
        if note:
            print(note if note.startswith("note:") else f"WARNING: Tier0 {note}")
    from spyagency.agency import Agency

    _store(settings).dispose()
    agency = Agency(settings)
    try:
        if not args.once:
            stop = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            try:
                agency.run_forever(stop)
            except KeyboardInterrupt:
                pass
            return 0
        if not args.verbose:  # each source's failure is printed once, in the table below, not logged as well
            logging.getLogger("spyagency.passes.observe").setLevel(logging.ERROR)
        cycle = agency.observe_and_decide()
        steered_ok = True
        if args.steer:
            result = agency.steer()
            if settings.steering == "dry-run":
                print("steering: dry run, SpyAgency is not steering Tier0 (no SPYAGENCY_TIER0_CONTROL_DB_URL); "
                      "see `spyagency steering` for what it would do")
            else:
                print(f"steering: {result.delivered} action(s) delivered to Tier0's promptreco_status")
            for failure in result.failures:
                print(f"steering FAILED: {failure}", file=sys.stderr)
            steered_ok = not result.failed
        for poll in cycle.polls:
            status = "ok" if poll.ok else f"FAILED: {poll.error}"
            print(terminal_safe(f"{poll.source.value:<7} {poll.duration_s * 1000:7.1f} ms  {poll.changes:5d} changes  "
                                f"{status}"))
        print(f"decided {len(cycle.decision.verdicts)} runs in {cycle.decision.duration_s * 1000:.1f} ms, "
              f"{len(cycle.decision.changed)} changed")
        if not steered_ok:
            return 4
        return 0 if all(p.ok for p in cycle.polls) else 3
    finally:
        agency.close()


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from spyagency.store.observations import tier0_global
    from spyagency.store.queries import get_run, list_runs
    from spyagency.tier0_instance import instance_policy
    from spyagency.views.console import source_lights, sources_block
    from spyagency.views.report import run_detail, runs_table, terminal_safe

    store = _store(settings)
    now = utcnow()
    with store.session() as session:
        paused = tier0_global(session).promptreco_enabled is False
        if args.run is not None:
            summary = get_run(session, args.run)
            if summary is None:
                print(f"run {args.run} is not known to SpyAgency (not in the store yet)", file=sys.stderr)
                return 1
            print(terminal_safe(run_detail(summary, now, paused)))
        else:
            print(terminal_safe(runs_table(list_runs(session, limit=args.limit, with_workflows=False), now, paused)))
            print(sources_block(source_lights(session, instance_policy(settings), now, settings.expiry_warning())))
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from spyagency.doors import check_doors
    from spyagency.tier0_instance import instance_policy
    from spyagency.views.report import terminal_safe

    note = simulator_note(settings)
    if note:
        print(note)
    reports = check_doors(settings, instance_policy(settings))
    for report in reports:
        mark = "open" if report.open else "SHUT"
        print(terminal_safe(f"{mark:<5} {report.door:<19} {report.where}\n      {report.line}"))
    shut = [r.door for r in reports if not r.open]
    print(f"{len(reports) - len(shut)} of {len(reports)} doors open" + (f"; shut: {', '.join(shut)}" if shut else ""))
    return 1 if shut else 0


def cmd_steering(args: argparse.Namespace, settings: Settings) -> int:
    from spyagency.passes.steer import steering_status
    from spyagency.tier0_instance import instance_policy

    store = _store(settings)
    with store.session() as session:
        picture = steering_status(session, instance_policy(settings), utcnow())
        switch = {True: "releasing", False: "paused", None: "not observed yet"}[picture.promptreco_enabled]
        print(f"Tier0's release switch: {switch} (as the store last saw it); the store's last request to Tier0: "
              f"{picture.last_requested or 'none yet'}")
        if settings.steering == "dry-run":
            print("with this command's settings SpyAgency would NOT steer: dry run (no "
                  "SPYAGENCY_TIER0_CONTROL_DB_URL, or SPYAGENCY_STEER_MODE=dry-run); below is what it would do")
        else:
            print("with this command's settings SpyAgency steers Tier0 by inserting rows into its "
                  "promptreco_status table")
        print(f"SpyAgency wants: {picture.desired.action} ({picture.desired.reason})")
        if picture.changed_by_others_at is not None:
            print(f"switch held by someone else: {picture.switch_note}")
        elif picture.switch_note != "the switch already is as SpyAgency wants it":
            print(picture.switch_note)
        for action in picture.pending:
            print(f"pending: {action.action} {action.idempotency_key} attempts={action.attempts} "
                  f"{action.last_error or ''}".rstrip())
    return 0


def cmd_override(args: argparse.Namespace, settings: Settings) -> int:
    from spyagency.people.overrides import OverrideError, OverrideKind, record_override

    store = _store(settings)
    kind = OverrideKind.WITHDRAW if args.withdraw else OverrideKind.RESUME
    try:
        row = record_override(store, run=args.run, kind=kind, author=args.author, comment=args.comment, now=utcnow())
    except OverrideError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"recorded {row.kind} for run {row.run} by {row.author}; the steering loop acts on its next pass")
    return 0


def cmd_explain(args: argparse.Namespace, settings: Settings) -> int:
    from spyagency.policy import load_policy
    from spyagency.store.decision_records import decision_at, decision_times
    from spyagency.tier0_instance import instance_policy
    from spyagency.views.explain import explain, explanation_lines

    policy = load_policy(args.policy) if args.policy else instance_policy(settings)
    at = args.at or utcnow()
    store = _store(settings)
    if args.switch:
        from spyagency.views.explain import switch_lines

        with store.session() as session:
            print("\n".join(switch_lines(session, policy, at)))
        return 0
    if args.run is None:
        print("name a run, or ask --switch", file=sys.stderr)
        return 2
    with store.session() as session:
        record = decision_at(session, args.run, at)
        moments = decision_times(session, args.run)
    if record is None:
        print(f"no decision of run {args.run} is recorded at or before {at:%Y-%m-%d %H:%M} UTC", file=sys.stderr)
        return 1
    explanation = explain(record, policy)
    print("\n".join(explanation_lines(explanation)))
    print(f"decisions of run {args.run} recorded at: " + ", ".join(f"{m:%m-%d %H:%M}" for m in moments))
    return 0 if explanation.matches else 1


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from spyagency.policy import load_policy
    from spyagency.views.what_if import what_if, what_if_lines

    start, end = args.start, args.end
    if end <= start:
        print(f"replay: --to ({end:%Y-%m-%d %H:%M} UTC) must come after --from ({start:%Y-%m-%d %H:%M} UTC)",
              file=sys.stderr)
        return 2
    from spyagency.tier0_instance import instance_policy

    policy = load_policy(args.policy)
    baseline = load_policy(args.baseline) if args.baseline else instance_policy(settings)
    store = _store(settings)
    with store.session() as session:
        found = what_if(session, policy, start, end, baseline)
    print(f"policy tried: {args.policy}; the recorded switch steered under: "
          f"{args.baseline or 'the installed policy'}")
    print("\n".join(what_if_lines(found)))
    return 1 if found.less_safe else 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    _store(settings).dispose()
    print(f"store at {settings.db_url} is at the newest schema")
    return 0


def _door(group: str, name: str):  # type: ignore[no-untyped-def]
    """A callable a door (api/, …) registered under an entry point; the core never imports doors."""
    for entry in entry_points(group=group):
        if entry.name == name:
            return entry.load()
    raise SystemExit(f"{group}:{name} is not installed (pip install -e . from the repository)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spyagency", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log what every step does")
    sub = parser.add_subparsers(dest="command", required=True)

    poll = sub.add_parser("poll", help="observe all sources, decide, store")
    poll.add_argument("--once", action="store_true", help="one cycle, then exit (else loop)")
    poll.add_argument("--steer", action="store_true", help="with --once: also steer Tier0 releases")
    poll.set_defaults(func=cmd_poll)

    status = sub.add_parser("status", help="readiness of recent runs, or of one run")
    status.add_argument("run", nargs="?", type=run_number, help="one run in detail (default: the recent runs)")
    status.add_argument("--limit", type=positive_int, default=30, help="how many recent runs (default 30)")
    status.set_defaults(func=cmd_status)

    steer = sub.add_parser("steering", help="what SpyAgency asks of Tier0's release switch, and why")
    steer.set_defaults(func=cmd_steering)

    override = sub.add_parser("override", help="operator: let Tier0 release a run that is not ready")
    override.add_argument("run", type=run_number, help="the run Tier0 may release")
    override.add_argument("--comment", required=True, help="why (recorded forever)")
    override.add_argument("--author", default=getpass.getuser(), help="who decides (default: your login name)")
    override.add_argument("--withdraw", action="store_true", help="take back an earlier override")
    override.set_defaults(func=cmd_override)

    explain = sub.add_parser("explain", help="why a run was decided as it was: the decision in force at a "
                                             "moment, the facts it rests on, and its replay")
    explain.add_argument("run", type=run_number, nargs="?", help="the run (or --switch)")
    explain.add_argument("--switch", action="store_true", help="the steering decision at that moment instead")
    explain.add_argument("--at", type=moment, help="ISO time (UTC unless it says otherwise); default now")
    explain.add_argument("--policy", help="replay under this policy file (default: the installed one)")
    explain.set_defaults(func=cmd_explain)

    what_if = sub.add_parser("replay", help="what a policy would have decided over a recorded period")
    what_if.add_argument("--policy", required=True, help="the policy TOML to try")
    what_if.add_argument("--baseline", help="the policy TOML the recorded switch is steered under "
                                            "(default: the installed one, SPYAGENCY_POLICY)")
    what_if.add_argument("--from", dest="start", type=moment, required=True,
                         help="ISO time (UTC unless it says otherwise)")
    what_if.add_argument("--to", dest="end", type=moment, required=True,
                         help="ISO time, after --from (UTC unless it says otherwise)")
    what_if.set_defaults(func=cmd_replay)

    migrate = sub.add_parser("migrate", help="create or upgrade the store schema")
    migrate.set_defaults(func=cmd_migrate)
    check = sub.add_parser("check", help="first hour: knock once on every door (Tier0, DQM, CondDB, switch, "
                                         "store) and say who we are there or what is wrong; exit 1 if one is shut")
    check.set_defaults(func=cmd_check)
    for entry in entry_points(group="spyagency.commands"):
        entry.load()(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = "SPYAGENCY_" + "_".join(str(part) for part in error["loc"]).upper()
            print(f"configuration error: {name}: {error['msg']}", file=sys.stderr)
        return 2
    try:
        status: int = args.func(args, settings)
        return status
    except PolicyError as exc:
        print(exc, file=sys.stderr)
        return 2
    except (ConfigurationError, StoreUnavailable) as exc:
        print(f"configuration error: {_variable_of(exc, settings)}: {exc}", file=sys.stderr)
        return 2
    except InputRefused as exc:  # the core's own sentence: the run, workflow or rule that refused the input
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 1


#: The settings that hold database URLs, with their environment variables.
URL_SETTINGS = {"db_url": "SPYAGENCY_DB_URL", "conddb_url": "SPYAGENCY_CONDDB_URL",
                "tier0_control_db_url": "SPYAGENCY_TIER0_CONTROL_DB_URL"}


def _variable_of(exc: ConfigurationError | StoreUnavailable, settings: Settings) -> str:
    """The environment variable behind a database error (the store's unless the URL says otherwise)."""
    url = getattr(exc, "url", None)
    for field, variable in URL_SETTINGS.items():
        if url is not None and getattr(settings, field) == url:
            return variable
    return "SPYAGENCY_DB_URL"


if __name__ == "__main__":
    sys.exit(main())
