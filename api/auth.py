"""Who is asking: bearer tokens or an SSO proxy's headers, mapped to roles; CSRF tokens for forms."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from dataclasses import dataclass

from spyagency.settings import Settings
from spyagency.settings.tokens import ROLES, parse_token_spec

SESSION_COOKIE = "spyagency_session"
PROXY_SECRET_HEADER = "x-spyagency-proxy-secret"
DEFAULT_SECRET = "change-me"
MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class Principal:
    user: str
    roles: frozenset[str]
    csrf: str | None = None  # the CSRF token of the dashboard session it logged in with

    def has(self, role: str) -> bool:
        return role in self.roles


class AuthConfigError(ValueError):
    pass


def parse_tokens(spec: str) -> dict[str, Principal]:
    """Parse ``token=user:role1|role2,...`` into token → principal."""
    try:
        return {token: Principal(user, roles) for token, (user, roles) in parse_token_spec(spec).items()}
    except ValueError as exc:
        raise AuthConfigError(f"SPYAGENCY_TOKENS: {exc}") from None  # the core's words never quote a token


class Authenticator:
    """Resolves a request's credentials to a principal, per the configured mode."""

    def __init__(self, settings: Settings) -> None:
        if settings.auth_mode not in ("token", "proxy"):
            raise AuthConfigError(f"SPYAGENCY_AUTH_MODE must be token or proxy, not {settings.auth_mode!r}")
        self.mode = settings.auth_mode
        self.tokens = parse_tokens(settings.tokens)
        self.user_header = settings.proxy_user_header.lower()
        self.roles_header = settings.proxy_roles_header.lower()
        self._secret = settings.secret_key.encode()
        self._tagged = {self.token_tag(token): principal for token, principal in self.tokens.items()}
        self._window_s = max(60.0, settings.session_hours * 3600)
        self._proxy_secret = settings.proxy_secret.encode() if settings.proxy_secret else None
        try:
            self._proxies = [ipaddress.ip_network(part.strip(), strict=False)
                             for part in settings.trusted_proxies.split(",") if part.strip()]
        except ValueError as exc:
            raise AuthConfigError(f"SPYAGENCY_TRUSTED_PROXIES: {exc}") from None

    def from_token(self, token: str | None) -> Principal | None:
        if not token:
            return None
        for known, principal in self.tokens.items():  # compare every one in constant time
            if hmac.compare_digest(known.encode(), token.encode()):
                return principal
        return None

    def trusts_proxy(self, headers: dict[str, str], client_host: str | None) -> bool:
        """Whether identity headers on this request come from the configured SSO proxy."""
        if self._proxy_secret is not None:
            sent = headers.get(PROXY_SECRET_HEADER, "").encode()
            if sent and hmac.compare_digest(sent, self._proxy_secret):
                return True
        if client_host is None:
            return False
        try:
            address = ipaddress.ip_address(client_host)
        except ValueError:
            return False
        return any(address in network for network in self._proxies)

    def from_proxy(self, headers: dict[str, str], client_host: str | None = None) -> Principal | None:
        """The user the SSO proxy vouches for; None when the headers do not come from the proxy."""
        if not self.trusts_proxy(headers, client_host):
            return None
        user = headers.get(self.user_header, "").strip()
        if not user:
            return None
        roles = frozenset(r.strip() for r in headers.get(self.roles_header, "").split(",")) & ROLES
        return Principal(user, roles)

    def csrf_token(self, identity: str, now: float | None = None) -> str:
        """A token bound to the caller's identity and to the current session window; forms carry it back.
        It expires like a login: a token is honoured in its window and the next one."""
        window = int((time.time() if now is None else now) // self._window_s)
        return self._csrf(identity, window)

    def _csrf(self, identity: str, window: int) -> str:
        return hmac.new(self._secret, f"csrf:{identity}:{window}".encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, identity: str, token: str, now: float | None = None) -> bool:
        window = int((time.time() if now is None else now) // self._window_s)
        return bool(token) and any(secrets.compare_digest(self._csrf(identity, w), token) for w in (window, window - 1))

    def token_tag(self, token: str) -> str:
        """A keyed hash of ``token``: what a session keeps to know which token it was opened with."""
        return hmac.new(self._secret, f"session-token:{token}".encode(), hashlib.sha256).hexdigest()

    def current_principal_of_session(self, token_tag: str | None, user: str,
                                     roles: frozenset[str]) -> Principal | None:
        """A dashboard session as the current tokens allow it: the very token it was opened with must still
        be configured, for the same user, and the session keeps only the roles that token still grants (a
        login never outlives its token: a rotated token ends it even when the user holds a new one)."""
        granted = None
        for tag, principal in self._tagged.items():  # compare every one in constant time
            if token_tag is not None and hmac.compare_digest(tag, token_tag):
                granted = principal
        if granted is None or granted.user != user:
            return None
        return Principal(user, roles & granted.roles)
