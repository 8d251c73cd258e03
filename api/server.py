"""Running the service with uvicorn: the `spyagency serve` command and an in-thread server for the demo."""

from __future__ import annotations

import argparse
import threading
import time

import uvicorn

from spyagency.clock import Clock
from spyagency.settings import Settings
from spyagency.store import Store

from .main import create_app


def serve(args: argparse.Namespace, settings: Settings) -> int:
    """`spyagency serve`: migrate the store, then serve the API and dashboard."""
    Store(settings.db_url).migrate()
    uvicorn.run(create_app(settings), host=args.host or settings.api_host, port=args.port or settings.api_port,
                log_level="info", proxy_headers=settings.auth_mode == "proxy")
    return 0


def register(subcommands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds `serve` to the `spyagency` command (entry point group spyagency.commands)."""
    parser = subcommands.add_parser("serve", help="serve the release API, ack API and dashboard")
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)
    parser.set_defaults(func=serve)


def start_in_thread(settings: Settings, clock: Clock, port: int) -> uvicorn.Server:
    """Serve on 127.0.0.1:``port`` in a daemon thread; set ``should_exit`` to stop."""
    server = uvicorn.Server(uvicorn.Config(create_app(settings, clock=clock), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    return server
