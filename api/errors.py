"""Errors mapped to HTTP once: validation errors that never echo input, an unreadable store as 503."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from spyagency.errors import Conflict, InputRefused, NotFound, StoreUnavailable
from spyagency.store import DatabaseError


def _without_input(error: dict[str, Any]) -> dict[str, Any]:
    # the offending input may be huge, binary or not even encodable (a lone surrogate): never echo it
    return {key: error[key] for key in ("type", "loc", "msg") if key in error}


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
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
    app.add_exception_handler(InputRefused, input_refused)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(DatabaseError, store_error)
    app.add_exception_handler(StoreUnavailable, store_error)
