"""The simulator's commands for the `spyagency` CLI, registered cheaply: the simulator loads only when one runs."""

from __future__ import annotations

import argparse

from spyagency.cli_arguments import non_negative_int, port, positive_float
from spyagency.settings import SIM_DQM_PORT, SIM_TIER0_PORT, Settings


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    from .cli import cmd_simulate

    return cmd_simulate(args, settings)


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from .cli import cmd_demo

    return cmd_demo(args, settings)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds `simulate` and `demo` to the `spyagency` command (entry point group spyagency.commands)."""
    simulate = sub.add_parser("simulate", help="serve a simulated Tier0, DQM GUI and CondDB")
    simulate.add_argument("--speed", type=positive_float, default=1.0, help="simulated seconds per real second")
    simulate.add_argument("--runs", type=non_negative_int, default=12, help="extra runs after the demo ones")
    simulate.add_argument("--workdir", default="var/sim", help="where the simulated CondDB and switch live")
    simulate.add_argument("--tier0-port", type=port, default=SIM_TIER0_PORT, help="the Tier0 Data Service's port")
    simulate.add_argument("--dqm-port", type=port, default=SIM_DQM_PORT, help="the DQM GUI's port")
    simulate.add_argument("--dqm-api", choices=["jsonfairy", "v1"], default="jsonfairy",
                          help="the DQM GUI generation to play: legacy jsonfairy or the new /api/v1/json "
                               "(poll it with SPYAGENCY_DQM_API=v1)")
    simulate.add_argument("--tls", metavar="DIR", default=None,
                          help="serve HTTPS behind a grid door as cmsweb does: a test CA, host and member "
                               "certificates and a proxy are made in DIR (kept if there), client certificates are "
                               "required, and DNs not in DIR/members.txt get HTTP 401")
    simulate.set_defaults(func=_simulate)

    demo = sub.add_parser("demo", help="simulator + reconcile loop on a fast clock")
    demo.add_argument("--speed", type=positive_float, default=1800.0,
                      help="simulated seconds per real second, at most (a slow machine shows the same story slower)")
    demo.add_argument("--duration", type=positive_float, default=60.0,
                      help="real seconds at full speed: the demo covers speed x duration of simulated time")
    demo.add_argument("--interval", type=positive_float, default=0.2,
                      help="real seconds per cycle at full speed; each cycle moves the clock speed x interval")
    demo.add_argument("--table-every", type=positive_float, default=15.0, help="real seconds between tables")
    demo.add_argument("--workdir", default=None,
                      help="keep the demo's store and simulator here (default: a temporary folder, removed after)")
    demo.add_argument("--no-serve", dest="serve", action="store_false", help="do not serve the dashboard")
    demo.add_argument("--port", type=port, default=8000, help="the dashboard's port")
    demo.set_defaults(func=_demo)
