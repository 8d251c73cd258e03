"""A JSON-over-HTTP getter with timeouts and retries with exponential backoff."""

from __future__ import annotations

import functools
import json
import ssl
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from spyagency.sources.errors import SourceProtocolError, SourceUnavailable

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's verifying context (certifi, or SSL_CERT_FILE/SSL_CERT_DIR), loaded once per process:
    loading the CA bundle costs tens of milliseconds, and a cold process builds a client per source."""
    return httpx.create_ssl_context()


class JsonHttp:
    """GETs JSON documents from one base URL; raises the given error classes on failure."""

    def __init__(
        self,
        base_url: str,
        *,
        unavailable: type[SourceUnavailable],
        protocol_error: type[SourceProtocolError],
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self._unavailable = unavailable
        self._protocol_error = protocol_error
        self._retries = retries
        self._backoff = backoff
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=self.base_url, timeout=timeout, headers=dict(headers or {}),
            transport=transport, follow_redirects=False, verify=_tls_context() if transport is None else True,
        )

    def close(self) -> None:
        self._client.close()

    def get(self, path: str, params: Mapping[str, Any] | None = None, *, allow_404: bool = False) -> Any:
        """Return the decoded JSON at ``path``; ``None`` for a 404 when ``allow_404``."""
        response = self._send("GET", path, params=params)
        if response.status_code == 404 and allow_404:
            return None
        if response.status_code != 200:
            raise self._protocol_error(f"GET {response.request.url} answered HTTP {response.status_code}")
        return self._decode(response)

    def post(self, path: str, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Any:
        """POST ``body`` as JSON and return the decoded reply (used for Tier0 control)."""
        response = self._send("POST", path, json=dict(body), headers=dict(headers or {}))
        if response.status_code not in (200, 201):
            raise self._protocol_error(f"POST {response.request.url} answered HTTP {response.status_code}")
        return self._decode(response)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        last_problem = "no attempt made"
        connection_failed = False
        for attempt in range(self._retries + 1):
            if attempt:
                self._sleep(self._backoff * 2 ** (attempt - 1))
            try:
                response = self._client.request(method, path.lstrip("/"), **kwargs)
            except httpx.TimeoutException as exc:
                last_problem = f"timed out ({type(exc).__name__})"
                connection_failed = isinstance(exc, httpx.ConnectTimeout)
                continue
            except httpx.TransportError as exc:
                last_problem = f"cannot connect ({exc})"
                connection_failed = True
                continue
            if response.status_code in RETRYABLE_STATUS:
                last_problem = f"answered HTTP {response.status_code}"
                continue
            return response
        raise self._unavailable(
            f"{method} {self.base_url}{path.lstrip('/')} {last_problem} after {self._retries + 1} attempts",
            connection_failed=connection_failed,
        )

    def _decode(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise self._protocol_error(
                f"{response.request.url} returned malformed JSON ({exc}): {response.text[:80]!r}"
            ) from exc
