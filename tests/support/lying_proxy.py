"""A hostile front for the simulator's HTTP services: it forwards every request and may rewrite the answer.

SpyAgency talks to it as to the real service (same paths, same protocol); a test decides, per request,
whether the answer is told as it is or replaced by a lie (``Lie``: a status and a body). The simulator stays
honest: the lie lives only between the two, where a broken upstream or front end would put it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from simulator.tier0_service import PREFIX
from spyagency.agency import Agency
from spyagency.store import Store


@dataclass(frozen=True)
class Lie:
    """What to answer instead: a status, a body, a content type."""

    body: bytes
    status: int = 200
    content_type: str = "application/json"


#: Given the request's path (with its query) and the true answer's status and body, a lie or None.
Liar = Callable[[str, int, bytes], Lie | None]


def rewrite_json(path_part: str, change: Callable[[Any], Any]) -> Liar:
    """A liar that rewrites the decoded JSON of answers whose path contains ``path_part``."""
    def liar(path: str, status: int, body: bytes) -> Lie | None:
        if path_part not in path or status != 200:
            return None
        return Lie(json.dumps(change(json.loads(body))).encode())
    return liar


class LyingProxy:
    """Forwards to ``upstream`` on 127.0.0.1; ``liar`` (settable) decides each answer; ``lies`` counts lies told."""

    def __init__(self, upstream: str, liar: Liar | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.liar = liar
        self.lies = 0
        self.delay_s = 0.0  # settable: every answer is held this long (a slow front end)
        self._client = httpx.Client(timeout=30.0)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                proxy._forward(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        headers = {k: v for k, v in handler.headers.items() if k.lower() in ("accept", "user-agent")}
        answer = self._client.get(self.upstream + handler.path, headers=headers)
        if self.delay_s:
            time.sleep(self.delay_s)
        liar = self.liar
        lie = liar(handler.path, answer.status_code, answer.content) if liar is not None else None
        status, body, kind = answer.status_code, answer.content, answer.headers.get("content-type", "")
        if lie is not None:
            self.lies += 1
            status, body, kind = lie.status, lie.body, lie.content_type
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", kind)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def start(self) -> LyingProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()


@contextmanager
def lying_proxy(upstream: str) -> Iterator[LyingProxy]:
    proxy = LyingProxy(upstream).start()
    try:
        yield proxy
    finally:
        proxy.stop()


class LiedWorld:
    """A simulator world read through lying fronts for Tier0 and the DQM GUI."""

    def __init__(self, world: Any, fronts: tuple[LyingProxy, LyingProxy] | None = None,
                 db_url: str | None = None) -> None:
        self.world = world
        self.tier0, self.dqm = fronts or (LyingProxy(world.sim.tier0.url).start(),
                                          LyingProxy(world.sim.dqm.url).start())
        self._own_fronts = fronts is None
        settings = world.agency.settings.model_copy(update={
            "tier0_url": self.tier0.url + PREFIX, "dqm_url": self.dqm.url + "/",
            "db_url": db_url or world.agency.settings.db_url})
        Store(settings.db_url).migrate()
        self.agency = Agency(settings, clock=world.clock, policy=world.agency.policy)

    def fresh_deployment(self, db_url: str) -> LiedWorld:
        """Another SpyAgency, with a store of its own, reading through the same fronts."""
        return LiedWorld(self.world, (self.tier0, self.dqm), db_url)

    def cycle(self) -> Any:
        self.world.sim.advance(self.world.clock.now())
        return self.agency.observe_and_decide()

    def verdicts(self) -> dict[int, Any]:
        return {v.run: v for v in self.cycle().decision.verdicts}

    def close(self) -> None:
        self.agency.close()
        if self._own_fronts:
            self.tier0.stop()
            self.dqm.stop()
