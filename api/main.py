"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware

from spyagency import __version__
from spyagency.clock import Clock, SystemClock
from spyagency.policy import Policy
from spyagency.settings import Settings
from spyagency.store import Store
from spyagency.tier0_instance import instance_policy

from . import errors
from .auth import Authenticator
from .deps import AppState
from .middleware import AnonymousPageCache, BodyLimit, SecurityHeaders, ShedLoad
from .routers import acks, dashboard, health, release, runs, steering

MAX_BODY_BYTES = 64 * 1024


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await app.state.spyagency.release_reader.close()


def _bare_app(description: str, settings: Settings, clock: Clock | None, policy: Policy | None,
              store: Store | None, schema: bool = True) -> FastAPI:
    # no /docs or /redoc: their pages load scripts from a CDN that the Content-Security-Policy rightly
    # refuses; the schema itself is served (/openapi.json) for clients and schema browsers of one's own
    app = FastAPI(title="SpyAgency", version=__version__, lifespan=_lifespan, description=description,
                  openapi_url="/openapi.json" if schema else None, docs_url=None, redoc_url=None)
    app.state.spyagency = AppState(settings=settings, store=store or Store(settings.db_url),
                                   policy=policy or instance_policy(settings), clock=clock or SystemClock(),
                                   auth=Authenticator(settings))
    return app


def create_app(settings: Settings | None = None, *, clock: Clock | None = None, policy: Policy | None = None,
               store: Store | None = None) -> FastAPI:
    """Build the service; the store must already be migrated (``spyagency migrate``)."""
    settings = settings or Settings()
    app = _bare_app("Readiness of CMS prompt calibrations: release API for Tier0, "
                    "acknowledgements for AlCa experts, dashboard for operators.", settings, clock, policy, store)

    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(ShedLoad, slots=settings.api_page_slots)
    proxy = settings.auth_mode == "proxy"  # identity in headers: no page is shared between callers
    app.add_middleware(AnonymousPageCache, max_age_s=0 if proxy else settings.anonymous_page_cache_s,
                       identity_headers=(settings.proxy_user_header, settings.proxy_roles_header))
    app.add_middleware(SecurityHeaders)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.hosts_allowed())  # outermost: DNS rebinding
    errors.install(app)
    app.include_router(release.router)
    app.include_router(runs.router)
    app.include_router(acks.router)
    app.include_router(steering.router)
    app.include_router(health.liveness)
    app.include_router(health.router)
    app.include_router(dashboard.router)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).resolve().parent / "static")), name="static")
    return app


def create_release_app(settings: Settings | None = None, *, clock: Clock | None = None,
                       policy: Policy | None = None, store: Store | None = None) -> FastAPI:
    """Tier0's own listener: the release API and liveness, nothing a flood of others could slow."""
    settings = settings or Settings()
    app = _bare_app("May Tier0 release this run? The release API alone.", settings, clock, policy, store,
                    schema=False)  # Tier0's listener serves its one question, not a schema
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.hosts_allowed())  # as the main port
    errors.install(app)
    app.include_router(release.router)
    app.include_router(health.liveness)
    return app
