"""ASGI middleware: refuse request bodies above a size, before any route reads them."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """Answer 413 to a body larger than ``max_bytes`` (declared by Content-Length, or sent chunked)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.max_bytes:
                await self._refuse(send)
                return
            await self.app(scope, receive, send)
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b""):
            await self.app(scope, receive, send)
            return
        # chunked: read it all (up to the limit) first, then replay it to the app
        body = b""
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._refuse(send)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        payload = json.dumps({"detail": f"request body larger than {self.max_bytes} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})


#: Sent with every response: no framing, no sniffing, no referrers, nothing loaded from elsewhere.
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """Add ``SECURITY_HEADERS`` to every response, and answer HEAD like GET without the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in SECURITY_HEADERS if name not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            elif message["type"] == "http.response.body" and head:
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, send_with_headers)


#: Tier0's question and liveness: never queued behind anything else.
FAST_PATH = re.compile(r"^/(healthz|api/v1/runs/[^/]+/release|static/.*)$")


class ShedLoad:
    """Keep the release API fast when others flood the rest: bound the expensive requests.

    Anything but the fast path (pages, lists, metrics, writes) waits for one of ``slots`` before it
    runs, at most ``wait_s``; then it is answered 503 with Retry-After. Pages render in worker
    threads that hold the GIL, so a few at a time is what leaves the event loop free for Tier0.
    """

    def __init__(self, app: ASGIApp, slots: int = 2, wait_s: float = 2.0) -> None:
        self.app = app
        self.slots = slots
        self.wait_s = wait_s
        self._semaphore: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or FAST_PATH.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.slots)
        try:
            await asyncio.wait_for(self._semaphore.acquire(), self.wait_s)
        except TimeoutError:
            payload = json.dumps({"detail": "busy: try again shortly"}).encode()
            await send({"type": "http.response.start", "status": 503,
                        "headers": [(b"content-type", b"application/json"), (b"retry-after", b"2"),
                                    (b"content-length", str(len(payload)).encode())]})
            await send({"type": "http.response.body", "body": payload})
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._semaphore.release()


#: Dashboard pages anonymous readers may get from a short-lived shared copy (the JSON API always reads).
SHARED_PAGES = re.compile(r"^/(|fragments/runs|runs/[0-9]+|fragments/runs/[0-9]+)$")


class AnonymousPageCache:
    """Serve anonymous GETs of shared pages from a copy at most ``max_age_s`` old.

    A flood of anonymous readers then costs one render per page every ``max_age_s``, and none of
    it holds the GIL away from Tier0's release query. Requests with credentials always render:
    a bearer token, a session cookie, or any of ``identity_headers`` (the configured proxy headers).
    ``max_age_s = 0`` turns the cache off (proxy mode: identity may ride in headers a cache cannot know).
    """

    def __init__(self, app: ASGIApp, max_age_s: float = 2.0, max_entries: int = 256,
                 identity_headers: tuple[str, ...] = ("x-remote-user",)) -> None:
        self.app = app
        self.max_age_s = max_age_s
        self.max_entries = max_entries
        self._identity = frozenset({b"authorization", b"x-spyagency-proxy-secret",
                                    *(h.lower().encode("latin-1") for h in identity_headers)})
        self._copies: dict[tuple[str, bytes], tuple[float, dict[str, Any], bytes]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (self.max_age_s <= 0 or scope["type"] != "http" or scope["method"] not in ("GET", "HEAD")
                or not SHARED_PAGES.match(scope["path"]) or self._has_credentials(scope)):
            await self.app(scope, receive, send)
            return
        key = (scope["path"], scope.get("query_string", b""))
        now = time.monotonic()
        copy = self._copies.get(key)
        if copy is not None and now - copy[0] <= self.max_age_s:
            _made, start, body = copy
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        start_message: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                start_message.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, keep)
        if start_message.get("status") == 200:
            if len(self._copies) >= self.max_entries:
                self._copies.clear()
            self._copies[key] = (now, start_message, b"".join(chunks))

    def _has_credentials(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name in self._identity:
                return True
            if name == b"cookie" and b"spyagency_session=" in value:
                return True
        return False
