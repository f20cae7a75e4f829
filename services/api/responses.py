"""What the OpenAPI document declares a route can answer besides success, in one error shape.

Every error body is ``{"detail": ...}``: a message, the list of validation issues (422), or for a
failed tool call an object. :func:`declare_common_responses` adds what any route can answer (413,
503; on ``/v1`` 401; 400 and 422 where a route reads a body or parameters); routes declare their
own 404, 409, 502, 504 with :func:`errors`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"anyOf": [
        {"type": "string"},
        {"type": "array", "items": {
            "type": "object", "required": ["type", "loc", "msg"],
            "properties": {"type": {"type": "string"}, "msg": {"type": "string"},
                           "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}}}},
        {"type": "object"},
    ]}},
}
TEXT = {"text/plain": {"schema": {"type": "string"}}}

DESCRIPTIONS = {
    400: "the body could not be parsed (nested too deeply, for one)",
    401: "missing or wrong bearer token",
    404: "not found",
    408: "the request body did not arrive within BATOS_API_BODY_TIMEOUT_S",
    409: "conflicts with the current state",
    413: "request body over BATOS_API_MAX_BODY_BYTES",
    422: "invalid parameters or body",
    502: "the LLM server or the sandbox failed",
    503: "Redis unavailable, or too many connections (BATOS_API_LIMIT_CONCURRENCY; text/plain)",
    504: "no worker answered in time",
}


EXAMPLES: dict[int, Any] = {  # a body each status answers with, for the documentation
    400: {"detail": "There was an error parsing the body"},
    401: {"detail": "missing or wrong bearer token"},
    404: {"detail": "task 0f3c9a1e8b7d4c2a9e6f5b4a3c2d1e0f not found"},
    408: {"detail": "request body not received within 10 s"},
    409: {"detail": "codex proposal cp-0f3c9a1e8b7d4c2a9e6f5b4a3c2d1e0f is already approved"},
    413: {"detail": "request body over the limit of 1048576 bytes"},
    422: {"detail": [{"type": "missing", "loc": ["body", "text"], "msg": "Field required"}]},
    502: {"detail": {"tool": "add", "version": 1, "error_type": "TimeoutError", "error": "",
                     "reason": "timeout"}},
    503: {"detail": "state store unavailable: Error 111 connecting to 127.0.0.1:6379. Connection refused."},
    504: {"detail": "no tool-forge worker answered within 60.0 s"},
}


def error(status: int, description: str | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": ERROR_SCHEMA, "example": EXAMPLES[status]}}
    if status == 503:  # uvicorn's own answer past the concurrency limit is text
        content["text/plain"] = {**TEXT["text/plain"], "example": "Service Unavailable"}
    return {"description": description or DESCRIPTIONS[status], "content": content}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: these statuses, each with the error body."""
    return {status: error(status) for status in statuses}


def declare_common_responses(routes: Iterable[APIRoute]) -> None:
    """Add to each route what any route can answer (idempotent: a route's own declarations win)."""
    for route in routes:
        common: dict[int | str, dict[str, Any]] = {413: error(413), 503: error(503)}
        if route.path.startswith("/v1/"):
            common[401] = error(401)
        if get_flat_params(route.dependant) or route.body_field is not None:
            common[422] = error(422)
        if route.body_field is not None:
            common[400] = error(400)
            common[408] = error(408)
        route.responses = {**common, **route.responses}
