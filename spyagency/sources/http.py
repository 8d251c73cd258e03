"""A JSON-over-HTTP getter for the CMS doors: grid identity, timeouts, retries with backoff, and one plain
line for every way a door can be shut.

The doors (cmsweb's front end, dmwm/auth-proxy-server; the WMCore REST server behind it) answer:

* a DN that is not a CMS member in CRIC: HTTP 401 with an empty body;
* an expired or unverifiable client certificate: a failed TLS handshake, no HTTP status at all;
* no certificate where a token login is configured: a 302 to CERN SSO (redirects are never followed here,
  so a login page never passes for an answer; an HTML login page with 200 is caught too);
* WMCore REST errors: ``X-Error-HTTP``, ``X-Error-Detail``, ``X-Error-Info``, ``X-REST-Status`` headers,
  quoted in the error; a request without ``Accept`` gets 406, so ``Accept: application/json`` is always sent;
* the new DQM GUI: 429 when too many imports run; backed off, and not taken for an outage.

A shut door is not transient: it is raised at once as :class:`SourceAccessDenied`, never retried.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from spyagency.sources.errors import SourceAccessDenied, SourceProtocolError, SourceUnavailable
from spyagency.sources.grid import Credential, GridIdentityError, TlsSetup, Trust, public_context

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
#: WMCore REST's error headers (dmwm/WMCore src/python/WMCore/REST/Error.py, report_rest_error)
ERROR_HEADERS = ("X-Error-HTTP", "X-Error-Detail", "X-Error-Info", "X-REST-Status")
#: The largest answer read (decompressed): Tier0's and the GUI's largest real answers are well under 1 MiB.
MAX_BODY_BYTES = 32 * 2**20
#: A 429's Retry-After is honoured up to this many seconds: a poll must stay short.
MAX_RETRY_AFTER_S = 10.0
#: TLS alerts a server sends when it refuses the certificate we presented (or that we presented none).
_REFUSED_ALERTS = ("ALERT_CERTIFICATE_REQUIRED", "ALERT_UNKNOWN_CA", "ALERT_BAD_CERTIFICATE",
                   "ALERT_CERTIFICATE_UNKNOWN", "ALERT_CERTIFICATE_EXPIRED", "ALERT_CERTIFICATE_REVOKED",
                   "ALERT_UNSUPPORTED_CERTIFICATE", "ALERT_ACCESS_DENIED", "ALERT_DECRYPT_ERROR")
_LOGIN_PAGE = re.compile(rb"login|log in|sign in|single sign-on|\bsso\b|auth\.cern\.ch|keycloak|type=.?password",
                         re.IGNORECASE)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
USER_AGENT = "spyagency (CMS prompt calibration watch)"


def _ssl_error(exc: BaseException) -> ssl.SSLError | None:
    """The TLS error behind an httpx transport error, if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _page_title(body: bytes) -> str:
    match = _TITLE.search(body[:65536])
    text = match.group(1) if match else body[:80]
    return " ".join(text.decode("utf-8", "replace").split())[:80]


class JsonHttp:
    """GETs JSON documents from one base URL; raises the given error classes on failure.

    ``tls``: the trust and grid identity of this source (HTTPS only: a certificate is only ever presented
    to the host configured as this source, and redirects are never followed).
    """

    def __init__(
        self,
        base_url: str,
        *,
        unavailable: type[SourceUnavailable],
        protocol_error: type[SourceProtocolError],
        denied: type[SourceAccessDenied] = SourceAccessDenied,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        tls: TlsSetup | None = None,
        deadline_s: float | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self._unavailable = unavailable
        self._protocol_error = protocol_error
        self._denied = denied
        self._retries = retries
        self._backoff = backoff
        self._sleep = sleep
        self._timeout = timeout
        #: the whole of one request (connect, headers, body) must end within this; per read, ``timeout``
        self.deadline_s = deadline_s if deadline_s is not None else 3 * timeout
        self.max_body_bytes = max_body_bytes
        self._headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **dict(headers or {})}
        self._transport = transport
        https = self.base_url.lower().startswith("https://")
        self.tls: TlsSetup | None = (tls or TlsSetup(Trust(), None)) if https and transport is None else None
        self._lock = threading.Lock()
        self._context: ssl.SSLContext | None = None
        self._client = self._new_client(None) if self.tls is None else None

    def _new_client(self, context: ssl.SSLContext | None) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=self._timeout, headers=self._headers,
                            transport=self._transport, follow_redirects=False,
                            verify=context if context is not None else public_context())

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()

    def credential(self, *, usable: bool = True) -> Credential | None:
        """The grid certificate this source is shown, read locally (no connection); None when none is sent.
        Raises the source's SourceAccessDenied when it is missing or unreadable, or (``usable``) expired."""
        if self.tls is None:
            return None
        try:
            credential = self.tls.current()[1]
        except GridIdentityError as exc:
            raise self._denied(str(exc)) from None
        if usable:
            self._check_expiry(credential)
        return credential

    def _check_expiry(self, credential: Credential | None) -> None:
        if credential is not None and credential.expired(datetime.now(UTC)):
            raise self._denied(f"our grid certificate expired on {credential.not_after:%Y-%m-%d %H:%M} UTC "
                               f"({credential.dn}, {credential.files.describe()}): renew the proxy")

    def _connected(self) -> tuple[httpx.Client, Credential | None]:
        """The client to send with, made again when the certificate or key changed on disk."""
        if self.tls is None:
            assert self._client is not None
            return self._client, None
        try:
            context, credential = self.tls.current()
        except GridIdentityError as exc:
            raise self._denied(str(exc)) from None
        self._check_expiry(credential)
        with self._lock:
            if self._client is None or context is not self._context:
                old, self._client, self._context = self._client, self._new_client(context), context
                if old is not None:
                    old.close()
            return self._client, credential

    def get(self, path: str, params: Mapping[str, Any] | None = None, *, allow_404: bool = False) -> Any:
        """Return the decoded JSON at ``path``; ``None`` for a 404 when ``allow_404``."""
        response = self._send("GET", path, params=params)
        if response.status_code == 404 and allow_404:
            return None
        if response.status_code != 200:
            raise self._protocol_error(f"GET {response.request.url} answered HTTP {response.status_code}"
                                       f"{self._error_headers(response)}")
        return self._decode(response)

    def knock(self, path: str) -> int:
        """One request, no retry: the HTTP status of ``path`` once past the door (for ``spyagency check``).
        Raises SourceAccessDenied when the door is shut, SourceUnavailable when nothing answers."""
        response = self._send("GET", path, retries=0)
        if response.status_code == 200:
            self._decode(response)  # a login page with 200 is a shut door
        return response.status_code

    def post(self, path: str, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Any:
        """POST ``body`` as JSON and return the decoded reply."""
        response = self._send("POST", path, json=dict(body), headers=dict(headers or {}))
        if response.status_code not in (200, 201):
            raise self._protocol_error(f"POST {response.request.url} answered HTTP {response.status_code}"
                                       f"{self._error_headers(response)}")
        return self._decode(response)

    def _send(self, method: str, path: str, retries: int | None = None, **kwargs: Any) -> httpx.Response:
        last_problem = "no attempt made"
        connection_failed = busy = False
        attempts = (self._retries if retries is None else retries) + 1
        wait = 0.0
        for attempt in range(attempts):
            if attempt:
                self._sleep(max(wait, self._backoff * 2 ** (attempt - 1)))
            wait = 0.0
            client, credential = self._connected()  # an expired certificate fails here, before any connection
            try:
                response = self._bounded(client, method, path.lstrip("/"), **kwargs)
            except httpx.TimeoutException as exc:
                last_problem = f"timed out ({type(exc).__name__})"
                connection_failed = isinstance(exc, httpx.ConnectTimeout)
                continue
            except httpx.TransportError as exc:
                refusal = self._tls_refusal(exc, credential)
                if refusal is not None:
                    raise self._denied(f"{method} {self.base_url}{path.lstrip('/')}: {refusal}") from None
                last_problem = f"cannot connect ({exc})"
                connection_failed = True
                continue
            self._check_door(response, credential)
            if response.status_code in RETRYABLE_STATUS:
                last_problem = f"answered HTTP {response.status_code}{self._error_headers(response)}"
                busy = response.status_code == 429
                if busy:
                    wait = self._retry_after(response)
                continue
            return response
        raise self._unavailable(
            f"{method} {self.base_url}{path.lstrip('/')} {last_problem} after {attempts} attempts"
            + (" (the server asks us to slow down)" if busy else ""),
            connection_failed=connection_failed, busy=busy,
        )

    def _bounded(self, client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request whose whole answer (headers and body, decompressed) must come within the deadline and
        the size limit: a server that drips a byte at a time cannot hold a poll past its deadline, and a huge
        or decompression-bomb body is cut off instead of filling memory."""
        deadline = time.monotonic() + self.deadline_s
        request = client.build_request(method, path, **kwargs)
        response = client.send(request, stream=True)
        try:
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > self.max_body_bytes:
                    raise self._protocol_error(f"{method} {request.url}: the answer is larger than "
                                               f"{self.max_body_bytes // 2**20} MiB (decompressed): cut off, not read")
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout(f"the whole answer took longer than {self.deadline_s:g} s", request=request)
        finally:
            response.close()
        return httpx.Response(response.status_code, headers=response.headers, content=bytes(body), request=request)

    @staticmethod
    def _retry_after(response: httpx.Response) -> float:
        try:
            return min(MAX_RETRY_AFTER_S, max(0.0, float(response.headers.get("Retry-After", "0"))))
        except ValueError:
            return 0.0

    def _who(self, credential: Credential | None) -> str:
        if credential is None:
            return ("no grid certificate was presented (none found: set X509_USER_PROXY, or "
                    "X509_USER_CERT and X509_USER_KEY, or SPYAGENCY_GRID_CERT)")
        return f"our certificate's DN {credential.dn} ({credential.files.describe()})"

    def _check_door(self, response: httpx.Response, credential: Credential | None) -> None:
        """Raise SourceAccessDenied for an answer that says the door is shut to us."""
        where = f"{response.request.method} {response.request.url}"
        if 300 <= response.status_code < 400:
            location = response.headers.get("Location", "nowhere")
            raise self._denied(f"{where}: asked to log in (HTTP {response.status_code} to {location}; redirects "
                               f"are never followed): the front end wants a grid certificate; "
                               f"{self._who(credential)}")
        if response.status_code == 401:
            raise self._denied(f"{where} answered HTTP 401: {self._who(credential)} is not accepted: not a CMS "
                               f"member in CRIC, or not registered yet{self._error_headers(response)}")
        if response.status_code == 403:
            raise self._denied(f"{where} answered HTTP 403: {self._who(credential)} is not allowed this "
                               f"path{self._error_headers(response)}")

    def _tls_refusal(self, exc: httpx.TransportError, credential: Credential | None) -> str | None:
        """Why a TLS handshake failed, in a line, if it failed for a reason no retry mends."""
        error = _ssl_error(exc)
        if error is None or isinstance(error, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
            return None
        if isinstance(error, ssl.SSLCertVerificationError):
            trust = self.tls.trust.describe() if self.tls is not None else "the public CA bundle"
            return (f"the server is not trusted ({error.verify_message}); CAs searched: {trust}: set "
                    f"X509_CERT_DIR to the grid CA directory (the CERN Grid CA)")
        reason = error.reason or str(error)
        if any(alert in reason for alert in _REFUSED_ALERTS):
            if credential is None:
                return f"the server asks for a grid certificate ({reason}): {self._who(None)}"
            return (f"the server refused our certificate ({reason}): {credential.dn}, "
                    f"valid until {credential.not_after:%Y-%m-%d %H:%M} UTC ({credential.files.describe()})")
        if "UNEXPECTED_EOF" in reason:
            return None  # a dropped connection: worth a retry
        return f"the TLS handshake failed ({reason})"

    @staticmethod
    def _error_headers(response: httpx.Response) -> str:
        found = [f"{name}: {response.headers[name][:200]}" for name in ERROR_HEADERS if name in response.headers]
        return f" ({'; '.join(found)})" if found else ""

    def _decode(self, response: httpx.Response) -> Any:
        """The JSON of ``response``, whatever its Content-Type says (WMCore REST sends pretty-printed JSON as
        text/plain to ``*/*``); an HTML login page is a shut door, a truncated body a fault."""
        body = response.content
        if body.lstrip()[:1] == b"<":
            if _LOGIN_PAGE.search(body[:65536]):
                raise self._denied(f"{response.request.method} {response.request.url}: asked to log in (an HTML "
                                   f"login page where JSON was expected: {_page_title(body)!r}); "
                                   f"{self._who(self._credential_quietly())}")
            raise self._protocol_error(f"{response.request.url} returned malformed JSON (an HTML page: "
                                       f"{_page_title(body)!r}){self._error_headers(response)}")
        try:
            return json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise self._protocol_error(
                f"{response.request.url} returned malformed JSON ({exc}): {response.text[:80]!r}"
                f"{self._error_headers(response)}"
            ) from exc

    def _credential_quietly(self) -> Credential | None:
        try:
            return self.credential()
        except SourceAccessDenied:
            return None
