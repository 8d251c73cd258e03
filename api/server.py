"""Running the service with uvicorn: the `spyagency serve` command and an in-thread server for the demo."""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from typing import Any

import uvicorn
from fastapi import FastAPI

from spyagency.clock import Clock
from spyagency.policy import Policy
from spyagency.ports import port_in_use
from spyagency.settings import Settings
from spyagency.store import Store

from .auth import DEFAULT_SECRET, MIN_SECRET_LENGTH
from .listener import MAX_HEAD_BYTES, bounded_protocol
from .main import create_app, create_release_app

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def unsafe_exposure(settings: Settings, host: str) -> str | None:
    """Why serving on ``host`` with these settings would let strangers in, or None."""
    weak_key = settings.secret_key == DEFAULT_SECRET or len(settings.secret_key) < MIN_SECRET_LENGTH
    if settings.auth_mode == "proxy" and weak_key:  # behind a local SSO proxy, loopback is not private
        return (f"refusing to serve in proxy mode on any address with SPYAGENCY_SECRET_KEY the default or shorter "
                f"than {MIN_SECRET_LENGTH} characters: anyone could compute the forms' CSRF tokens")
    if host in LOOPBACK_HOSTS:
        return None
    if settings.simulator_defaults():
        return (f"refusing to serve on {host}: {', '.join(settings.simulator_defaults())} still point at the "
                f"built-in simulator on this machine; set them to the real systems")
    if settings.secret_key == DEFAULT_SECRET or len(settings.secret_key) < MIN_SECRET_LENGTH:
        return (f"refusing to serve on {host}: SPYAGENCY_SECRET_KEY is the default or shorter than "
                f"{MIN_SECRET_LENGTH} characters (it signs the dashboard's forms)")
    if settings.auth_mode == "proxy" and not (settings.trusted_proxies or settings.proxy_secret):
        return (f"refusing to serve on {host} in proxy mode without SPYAGENCY_TRUSTED_PROXIES or "
                f"SPYAGENCY_PROXY_SECRET: anyone could claim any identity")
    return None


def serve(args: argparse.Namespace, settings: Settings) -> int:
    """`spyagency serve`: migrate the store, then serve the API and dashboard."""
    host = args.host or settings.api_host
    port = args.port or settings.api_port
    problem = unsafe_exposure(settings, host)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if port_in_use(host, port):
        print(f"cannot serve on {host}:{port}: the port is in use (another SpyAgency or another service); "
              f"pick another with --port or SPYAGENCY_API_PORT", file=sys.stderr)
        return 2
    if settings.auth_mode == "token" and not settings.tokens.strip():
        print("note: SPYAGENCY_TOKENS is empty, so nobody can write (acknowledge, hold, override); "
              "the dashboard and the release API are read-only", file=sys.stderr)
    Store(settings.db_url).migrate()
    _run_bounded(create_app(settings), host, port, settings)
    return 0


def serve_release(args: argparse.Namespace, settings: Settings) -> int:
    """`spyagency serve-release`: the release API alone, in its own process, for Tier0.

    Pages, lists, metrics and writes run elsewhere, so however hard others flood the main
    service, this process's event loop only ever waits for Tier0's own questions.
    """
    host = args.host or settings.api_host
    port = args.port or settings.release_port
    if port_in_use(host, port):
        print(f"cannot serve the release API on {host}:{port}: the port is in use; pick another with --port "
              f"or SPYAGENCY_RELEASE_PORT", file=sys.stderr)
        return 2
    Store(settings.db_url).migrate()
    _run_bounded(create_release_app(settings), host, port, settings)
    return 0


def _run_bounded(app: FastAPI, host: str, port: int, settings: Settings) -> None:
    uvicorn.run(app, host=host, port=port, log_level="info", **listener_options(settings))


def listener_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for both listeners: the bounded h11 protocol (a request arrives whole within
    ``api_request_deadline_s``, heads are capped, at most ``api_max_concurrency`` sockets, half-open ones
    giving way first), idle keep-alives closed after 5 s."""
    return {"http": bounded_protocol(settings.api_request_deadline_s),
            "h11_max_incomplete_event_size": MAX_HEAD_BYTES, "limit_concurrency": settings.api_max_concurrency,
            "proxy_headers": False, "timeout_keep_alive": 5, "backlog": 256}


#: How long ``start_in_thread`` waits for the server to listen before it fails.
START_TIMEOUT_S = 30.0


def start_in_thread(settings: Settings, clock: Clock, port: int, sock: socket.socket | None = None,
                    release: bool = False, policy: Policy | None = None) -> uvicorn.Server:
    """Serve on 127.0.0.1:``port`` (on ``sock`` when the port was reserved, bound) in a daemon thread, the
    main service or (``release``) Tier0's listener, bounded as ``serve`` bounds it; set ``should_exit`` to stop."""
    app = (create_release_app if release else create_app)(settings, clock=clock, policy=policy)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           **listener_options(settings)))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]} if sock else {}, name="api",
                              daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the API did not start on 127.0.0.1:{port} within {START_TIMEOUT_S:g} s")
        time.sleep(0.05)
    return server
