"""A small threaded HTTP server on loopback with switchable faults, for the simulated services."""

from __future__ import annotations

import enum
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 drops connections when a poller opens several at once on a
    # loaded machine; the real services sit behind front-ends with deep queues
    request_queue_size = 128
    daemon_threads = True


class Fault(str, enum.Enum):
    """What a simulated service does wrong, for fault-injection tests."""

    NONE = "none"
    HTTP_500 = "http500"
    TIMEOUT = "timeout"  # answers only after the client has given up
    TRUNCATED = "truncated"  # cuts the JSON body in half
    WRONG_TYPES = "wrong_types"  # valid JSON of the wrong shape
    NOT_JSON = "not_json"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


Route = Callable[[Request], tuple[int, Any]]


class SimService:
    """Serves ``route`` on 127.0.0.1 in a background thread until ``stop``."""

    def __init__(self, route: Route, wrong_types: Any = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.route = route
        self.fault = Fault.NONE
        self.timeout_delay = 3.0
        self.requests = 0
        self._wrong_types = wrong_types if wrong_types is not None else {"result": "not a list"}
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16  # one segment per reply: avoids the 40 ms delayed-ACK stall

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                service._handle(self, "GET")

            def do_POST(self) -> None:
                service._handle(self, "POST")

        self._server = _Server((host, port), Handler)
        self._server.daemon_threads = True
        # a short poll interval: stop() returns within 50 ms instead of the default 0.5 s
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="sim-http", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> SimService:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        self.requests += 1
        parts = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            self._send(handler, 400, {"error": "body is not JSON"})
            return
        fault = self.fault
        if fault is Fault.HTTP_500:
            self._send(handler, 500, {"error": "simulated internal error"})
            return
        if fault is Fault.TIMEOUT:
            time.sleep(self.timeout_delay)
        request = Request(method, parts.path, query, {k.lower(): v for k, v in handler.headers.items()}, body)
        status, payload = self.route(request)
        if fault is Fault.WRONG_TYPES and status == 200:
            payload = self._wrong_types
        data = json.dumps(payload).encode()
        if fault is Fault.TRUNCATED:
            data = data[: max(1, len(data) // 2)]
        elif fault is Fault.NOT_JSON:
            data = b"<html><body>Service Unavailable - maintenance</body></html>"
        self._send_bytes(handler, status, data)

    def _send(self, handler: BaseHTTPRequestHandler, status: int, payload: Any) -> None:
        self._send_bytes(handler, status, json.dumps(payload).encode())

    @staticmethod
    def _send_bytes(handler: BaseHTTPRequestHandler, status: int, data: bytes) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)
