"""Errors mapped to HTTP once: validation errors that never echo input, an unreadable store as 503."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from spyagency.errors import Conflict, InputRefused, NotFound, StoreUnavailable
from spyagency.store import DatabaseError


def _without_input(error: dict[str, Any]) -> dict[str, Any]:
    # the offending input may be huge, binary or not even encodable (a lone surrogate): never echo it
    return {key: error[key] for key in ("type", "loc", "msg") if key in error}


#: Paths whose callers are programs: they get JSON whatever they accept.
_PROGRAM_PATHS = ("/api/", "/fragments/", "/static/", "/metrics", "/healthz", "/readyz", "/openapi.json")

#: Page titles of the errors a person may meet in the console.
_TITLES = {400: "Bad request", 401: "Log in needed", 403: "Not allowed", 404: "Not found", 405: "Not allowed",
           409: "Conflict", 422: "Not understood", 503: "Unavailable"}


def _wants_page(request: Request) -> bool:
    """Whether the caller is a person's browser on a console page (it asks for HTML)."""
    return (not request.url.path.startswith(_PROGRAM_PATHS)
            and "text/html" in request.headers.get("accept", ""))


def _page(request: Request, status_code: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    from .routers.dashboard import templates  # the console's templates: the error page has its frame

    return templates.TemplateResponse(request, "error.html", {
        "viewer": None, "proxy_mode": False, "status_code": status_code, "detail": detail,
        "title": _TITLES.get(status_code, "Error")}, status_code=status_code, headers=headers)


async def http_error(request: Request, exc: Exception) -> Response:
    """A console page's error as a page with the console's frame; for programs, JSON as ever."""
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers) if exc.headers else None
    if _wants_page(request) and exc.status_code >= 400:
        return _page(request, exc.status_code, str(exc.detail), headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if _wants_page(request):
        said = "; ".join(f"{'.'.join(str(part) for part in e.get('loc', ())[1:]) or 'the request'}: {e.get('msg', '')}"
                         for e in exc.errors())  # the field and the rule, never the input
        return _page(request, 422, said)
    return JSONResponse({"detail": [_without_input(e) for e in exc.errors()]}, status_code=422)


async def store_error(_request: Request, exc: Exception) -> JSONResponse:
    kind = type(getattr(exc, "orig", None) or exc).__name__
    return JSONResponse({"detail": f"the store cannot be read ({kind}); try again later"}, status_code=503,
                        headers={"Retry-After": "30"})


async def input_refused(_request: Request, exc: Exception) -> JSONResponse:
    # the core's own sentence, which names the run, workflow or rule: safe to show (it echoes no raw input)
    code = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict) else 422
    return JSONResponse({"detail": str(exc)}, status_code=code)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(InputRefused, input_refused)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(DatabaseError, store_error)
    app.add_exception_handler(StoreUnavailable, store_error)
