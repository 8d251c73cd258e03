"""The API's commands for the `spyagency` CLI, registered cheaply: the server loads only when one runs."""

from __future__ import annotations

import argparse

from spyagency.cli_arguments import port
from spyagency.settings import Settings


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from .server import serve

    return serve(args, settings)


def _serve_release(args: argparse.Namespace, settings: Settings) -> int:
    from .server import serve_release

    return serve_release(args, settings)


def register(subcommands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds `serve` and `serve-release` to the `spyagency` command (entry point group spyagency.commands)."""
    parser = subcommands.add_parser("serve", help="serve the release API, ack API and dashboard")
    parser.add_argument("--host", default=None, help="address to listen on (default SPYAGENCY_API_HOST)")
    parser.add_argument("--port", type=port, default=None, help="port to listen on (default SPYAGENCY_API_PORT)")
    parser.set_defaults(func=_serve)
    release = subcommands.add_parser("serve-release", help="serve the release API alone, for Tier0 "
                                                           "(its own process and port)")
    release.add_argument("--host", default=None, help="address to listen on (default SPYAGENCY_API_HOST)")
    release.add_argument("--port", type=port, default=None,
                         help="port to listen on (default SPYAGENCY_RELEASE_PORT)")
    release.set_defaults(func=_serve_release)
