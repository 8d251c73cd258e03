"""A small threaded HTTP server on loopback with switchable faults, for the simulated services.

With a :class:`Door` it serves HTTPS as cmsweb's front end does (dmwm/auth-proxy-server, X.509 mode): a
client certificate is required (RFC 3820 proxies accepted), a DN that is not on the member list (its
stand-in for CRIC) gets HTTP 401 with an empty body, and an expired or unknown certificate fails the
handshake. ``wmcore=True`` answers as WMCore REST does: 406 without ``Accept``, pretty-printed JSON as
text/plain to ``*/*``, ``X-Error-*`` and ``X-REST-Status`` headers on errors.
"""

from __future__ import annotations

import enum
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

_SHORT = {"domainComponent": "DC", "organizationalUnitName": "OU", "commonName": "CN", "organizationName": "O",
          "countryName": "C", "localityName": "L", "stateOrProvinceName": "ST", "emailAddress": "emailAddress"}


@dataclass(frozen=True)
class Door:
    """The front end's TLS door: its context (server certificate, trusted CAs) and the member DNs file."""

    context: ssl.SSLContext
    members: Path

    @classmethod
    def from_files(cls, cert: Path, key: Path, ca_dir: Path, members: Path) -> Door:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        context.load_verify_locations(capath=str(ca_dir))
        context.verify_mode = ssl.CERT_REQUIRED
        context.verify_flags |= ssl.VERIFY_ALLOW_PROXY_CERTS
        return cls(context, members)

    def member(self, peer: dict[str, Any]) -> str | None:
        """The end-entity DN of a verified peer if it is on the member list, else None."""
        subject = [rdn for rdn in peer.get("subject", ())]
        issuer = [rdn for rdn in peer.get("issuer", ())]
        # a proxy's subject is its issuer's plus one CN: the person is the issuer
        person = issuer if len(subject) == len(issuer) + 1 and subject[:-1] == issuer else subject
        dn = "/" + "/".join(f"{_SHORT.get(key, key)}={value}" for rdn in person for key, value in rdn)
        try:
            members = {line.strip() for line in self.members.read_text().splitlines() if line.strip()}
        except OSError:
            return None
        return dn if dn in members else None


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 drops connections when a poller opens several at once on a
    # loaded machine; the real services sit behind front-ends with deep queues
    request_queue_size = 128
    daemon_threads = True
    door: Door | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.door is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(10.0)
        try:  # the handshake runs in the connection's own thread: a slow client holds up no one else
            secured = self.door.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # refused in the handshake (expired, unknown CA, no certificate): no HTTP status at all
        try:
            super().finish_request(secured, client_address)
        finally:
            try:
                secured.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            secured.close()


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

    def __init__(self, route: Route, wrong_types: Any = None, host: str = "127.0.0.1", port: int = 0,
                 door: Door | None = None, wmcore: bool = False) -> None:
        self.route = route
        self.door = door
        self.wmcore = wmcore
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
        self._server.door = door
        # a short poll interval: stop() returns within 50 ms instead of the default 0.5 s
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="sim-http", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{'https' if self.door else 'http'}://{host!s}:{port}"

    def start(self) -> SimService:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        self.requests += 1
        if self.door is not None:
            peer = handler.connection.getpeercert()
            if not peer or self.door.member(peer) is None:
                self._send_bytes(handler, 401, b"")  # auth-proxy-server: user not found in CRIC
                return
        accept = handler.headers.get("Accept", "")
        if self.wmcore and not accept:
            self._send_bytes(handler, 406, b"", self._error_headers(406, "Not acceptable", 201))
            return
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
        headers: dict[str, str] = {}
        if self.wmcore:
            as_text = "application/json" not in accept  # */*: WMCore lists pretty-printed JSON as text/plain
            data = (json.dumps(payload, indent=2) if as_text else json.dumps(payload)).encode()
            headers = {"Content-Type": "text/plain" if as_text else "application/json",
                       "Cache-Control": "max-age=300", "X-REST-Status": "100"}
            if status >= 400:
                detail = payload.get("error", "") if isinstance(payload, dict) else ""
                headers.update(self._error_headers(status, str(detail), 400))
        else:
            data = json.dumps(payload).encode()
        if fault is Fault.TRUNCATED:
            data = data[: max(1, len(data) // 2)]
        elif fault is Fault.NOT_JSON:
            data = b"<html><body>Service Unavailable - maintenance</body></html>"
        self._send_bytes(handler, status, data, headers)

    @staticmethod
    def _error_headers(status: int, detail: str, rest_status: int) -> dict[str, str]:
        return {"X-Error-HTTP": str(status), "X-Error-Detail": detail[:200], "X-REST-Status": str(rest_status)}

    def _send(self, handler: BaseHTTPRequestHandler, status: int, payload: Any) -> None:
        self._send_bytes(handler, status, json.dumps(payload).encode())

    @staticmethod
    def _send_bytes(handler: BaseHTTPRequestHandler, status: int, data: bytes,
                    headers: dict[str, str] | None = None) -> None:
        headers = {"Content-Type": "application/json", **(headers or {})}
        try:
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)
