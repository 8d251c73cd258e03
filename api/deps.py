"""FastAPI dependencies: the app state, a store session, the caller and role checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from spyagency.clock import Clock
from spyagency.core.models import Role
from spyagency.policy import Policy
from spyagency.settings import Settings
from spyagency.store import Session, Store
from spyagency.store.release_reader import ReleaseReader, release_reader
from spyagency.store.sessions import find_session

from .auth import PROXY_SECRET_HEADER, SESSION_COOKIE, Authenticator, Principal


@dataclass
class AppState:
    settings: Settings
    store: Store
    policy: Policy
    clock: Clock
    auth: Authenticator
    release_reader: ReleaseReader = field(init=False)
    metrics_cache: tuple[float, bytes] = (0.0, b"")  # (monotonic time made, body) of the last scrape

    def __post_init__(self) -> None:
        self.release_reader = release_reader(self.store.url)


async def app_state(request: Request) -> AppState:
    # async on purpose: FastAPI would run a plain function in a worker thread, for nothing
    state: AppState = request.app.state.spyagency
    return state


State = Annotated[AppState, Depends(app_state)]


def db_session(state: State) -> Iterator[Session]:
    with state.store.session() as session:
        yield session


DbSession = Annotated[Session, Depends(db_session)]


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _proxy_headers(request: Request, auth: Authenticator) -> dict[str, str]:
    """The request's headers for the SSO proxy's word; an identity header sent twice is refused, never
    resolved to one of its values (a client could add its own beside the proxy's)."""
    for name in (auth.user_header, auth.roles_header, PROXY_SECRET_HEADER):
        if len(request.headers.getlist(name)) > 1:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{name} sent more than once: refused")
    return {k.lower(): v for k, v in request.headers.items()}


def current_principal(request: Request, state: State) -> Principal | None:
    """The caller, from a bearer token, the dashboard cookie, or the SSO proxy headers."""
    auth = state.auth
    if auth.mode == "proxy":
        return auth.from_proxy(_proxy_headers(request, auth), _client(request))
    bearer = auth.from_token(_bearer(request))
    if bearer is not None:
        return bearer
    session = find_session(state.store, request.cookies.get(SESSION_COOKIE), state.clock.now())
    if session is None:
        return None
    current = auth.current_principal_of_session(session.token_tag, session.user, session.roles)
    return Principal(current.user, current.roles, session.csrf) if current else None


def api_principal(request: Request, state: State) -> Principal | None:
    """The caller of the JSON API: bearer token or proxy headers only (no cookies, so no CSRF)."""
    if state.auth.mode == "proxy":
        return state.auth.from_proxy(_proxy_headers(request, state.auth), _client(request))
    return state.auth.from_token(_bearer(request))


def require_role(principal: Principal | None, role: str) -> Principal:
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "authentication required",
                            headers={"WWW-Authenticate": "Bearer"})
    if not principal.has(role):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"user {principal.user} lacks the role {role}")
    return principal


def _api_caller_with(role: Role) -> Callable[..., Principal]:
    def caller(principal: Annotated[Principal | None, Depends(api_principal)]) -> Principal:
        return require_role(principal, role.value)
    return caller


def _dashboard_caller_with(role: Role) -> Callable[..., Principal]:
    def caller(principal: Annotated[Principal | None, Depends(current_principal)]) -> Principal:
        return require_role(principal, role.value)
    return caller


#: The caller of a JSON route, holding the role the route needs (401 without credentials, 403 without the role).
AlcaExpert = Annotated[Principal, Depends(_api_caller_with(Role.ALCA_EXPERT))]
Operator = Annotated[Principal, Depends(_api_caller_with(Role.OPERATOR))]
#: The logged-in dashboard user holding the role a form needs.
DashboardAlcaExpert = Annotated[Principal, Depends(_dashboard_caller_with(Role.ALCA_EXPERT))]
