"""Errors to HTTP answers, in one place: the ``STATUS`` table and the handlers that apply it.

Routes raise the ``shared.errors`` class that says what went wrong and never choose a status
themselves; the most specific class in ``STATUS`` decides (``SandboxUnavailable`` 503 before
``SandboxError`` 502). The body is always ``{"detail": ...}``: the error's message, or its
structured ``detail`` when it carries one (a failed tool call's record). A new error class gets
its status here, next to its siblings; one missing from the table is an internal error (500).
FastAPI's own errors keep their shapes: request validation 422 (issues without the bad input),
``HTTPException`` as raised, 405 naming every allowed method.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import (
    BatosError,
    Conflict,
    InvalidInput,
    LLMError,
    NotFound,
    SandboxError,
    SandboxUnavailable,
    ToolCallError,
    ToolCallTimeout,
    ToolRaised,
    ToolRunFailed,
)

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)

STATUS: dict[type[Exception], int] = {
    NotFound: status.HTTP_404_NOT_FOUND,
    InvalidInput: status.HTTP_422_UNPROCESSABLE_CONTENT,
    Conflict: status.HTTP_409_CONFLICT,
    LLMError: status.HTTP_502_BAD_GATEWAY,  # LLMUnreachable and LLMBadAnswer alike
    SandboxError: status.HTTP_502_BAD_GATEWAY,
    SandboxUnavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
    ToolCallError: status.HTTP_502_BAD_GATEWAY,
    ToolRaised: status.HTTP_422_UNPROCESSABLE_CONTENT,  # the caller's arguments made the tool raise
    ToolRunFailed: status.HTTP_502_BAD_GATEWAY,
    ToolCallTimeout: status.HTTP_504_GATEWAY_TIMEOUT,
    RedisConnectionError: status.HTTP_503_SERVICE_UNAVAILABLE,
    RedisTimeoutError: status.HTTP_503_SERVICE_UNAVAILABLE,
}


def status_of(exc: BaseException) -> int:
    """The status for ``exc``: its most specific class in ``STATUS``; 500 when none is."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return status.HTTP_500_INTERNAL_SERVER_ERROR


def detail_of(exc: BaseException) -> Any:
    """What ``{"detail": ...}`` carries for ``exc``."""
    if isinstance(exc, REDIS_DOWN):
        return f"state store unavailable: {exc}"
    if isinstance(exc, BatosError) and exc.detail is not None:
        return exc.detail
    return str(exc)


def allowed_methods(routes: list[APIRoute], path: str) -> str:
    """Every method some route answers at ``path`` (Starlette's 405 names only the first route's)."""
    methods = {m for route in routes if route.path_regex.match(path) for m in route.methods or ()}
    return ", ".join(sorted(methods))


def add_error_handlers(app: FastAPI, routes: list[APIRoute]) -> None:
    """``STATUS`` for the errors in it, FastAPI's own errors, and a JSON 500 for anything else."""

    async def known(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": detail_of(exc)}, status_code=status_of(exc))

    async def invalid_request(_: Request, exc: Exception) -> JSONResponse:
        # FastAPI's own handler echoes each bad ``input``: NaN or Infinity there made it a 500.
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        detail = [{k: e[k] for k in ("type", "loc", "msg") if k in e} for e in errors]
        return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    async def http_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, StarletteHTTPException) and exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
            allow = allowed_methods(routes, request.url.path)
            return JSONResponse({"detail": f"{request.method} is not allowed here; allowed: {allow}"},
                                status_code=exc.status_code, headers={"Allow": allow})
        return await http_exception_handler(request, exc)  # type: ignore[arg-type]

    async def internal_error(_: Request, exc: Exception) -> JSONResponse:
        # Still raised on after this answer: uvicorn logs it with its traceback.
        return JSONResponse({"detail": "internal error"}, status_code=status.HTTP_500_INTERNAL_SERVER_ERROR)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, internal_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    for error in STATUS:
        app.add_exception_handler(error, known)
