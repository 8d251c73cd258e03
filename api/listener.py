"""The HTTP protocol both listeners speak: uvicorn's h11 protocol with the bounds it lacks.

uvicorn has no deadline for reading a request (a client sending its head a byte a minute holds a connection
forever), its header size limit only works under h11, and its ``limit_concurrency`` counts every open socket:
a few thousand half-sent requests make it answer 503 to everyone. Here a request must arrive whole within a
deadline, heads are capped in size, and sockets still waiting for a request give way, oldest first, to new
callers instead of filling the listener.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Any
from weakref import WeakKeyDictionary

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

#: A request (head and body) must have arrived whole this long after its first byte could be sent.
REQUEST_DEADLINE_S = 10.0
#: The largest request head (request line and headers) read: a larger one is answered 400.
MAX_HEAD_BYTES = 16 * 1024
#: Sockets waiting for their request, per listener, beyond which the one waiting longest is closed.
MAX_WAITING = 256

_waiting: WeakKeyDictionary[ServerState, OrderedDict[BoundedH11Protocol, None]] = WeakKeyDictionary()

#: At most one line per this many seconds about malformed requests: a flood of them is not a flood of logs.
LOG_EVERY_S = 60.0


class _OncePerInterval(logging.Filter):
    """Lets uvicorn's "Invalid HTTP request received." through once per ``LOG_EVERY_S``, with a count."""

    def __init__(self) -> None:
        super().__init__()
        self._last, self._dropped = 0.0, 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING or "Invalid HTTP request" not in record.getMessage():
            return True
        now = time.monotonic()
        if now - self._last < LOG_EVERY_S and self._last:
            self._dropped += 1
            return False
        if self._dropped:
            record.msg = f"{record.getMessage()} ({self._dropped} more since the last such line)"
            record.args = ()
        self._last, self._dropped = now, 0
        return True


#: uvicorn's protocol logger, quieted for malformed requests (heads too large, garbage)
_LOGGER = logging.getLogger("uvicorn.error.requests")
_LOGGER.addFilter(_OncePerInterval())


class BoundedH11Protocol(H11Protocol):
    """One connection: its request must arrive whole within ``request_deadline_s``; while it waits for one,
    a newer caller may push it out."""

    request_deadline_s = REQUEST_DEADLINE_S

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        # uvicorn answers 503 to every request once this many sockets are open, half-open ones included;
        # here it bounds open sockets, and the ones still waiting for their request give way first
        self._max_connections, self.limit_concurrency = self.limit_concurrency, None
        self._deadline: asyncio.TimerHandle | None = None
        self._queue = _waiting.setdefault(server_state, OrderedDict())
        self.logger = _LOGGER

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        crowded = self._max_connections is not None and len(self.connections) > self._max_connections
        if crowded and not self._queue:  # every other socket is being answered: this one must wait its turn
            transport.close()
            return
        self._await_request()
        while len(self._queue) > MAX_WAITING or (crowded and len(self._queue) > 1):
            next(iter(self._queue))._give_up()
            crowded = False

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state in (h11.DONE, h11.MUST_CLOSE, h11.CLOSED, h11.ERROR):
            self._stop_waiting()  # the request arrived whole (or the connection is over)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._await_request()  # kept alive: the next request is held to the same deadline

    def _await_request(self) -> None:
        self._stop_waiting()
        self._deadline = self.loop.call_later(self.request_deadline_s, self._give_up)
        self._queue[self] = None

    def _stop_waiting(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._queue.pop(self, None)

    def _give_up(self) -> None:
        """Close a connection whose request did not arrive whole in time, or that a newer caller displaces
        (an application still reading its body is told the client left)."""
        self._stop_waiting()
        self.transport.close()


def bounded_protocol(request_deadline_s: float) -> type[BoundedH11Protocol]:
    """The bounded protocol holding requests to ``request_deadline_s``."""
    return type("BoundedH11Protocol", (BoundedH11Protocol,), {"request_deadline_s": request_deadline_s})
