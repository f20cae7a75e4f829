"""Reading request bodies and writing Ollama-shaped replies (JSON, NDJSON streams, errors)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ValidationError

from services.local_llm.errors import ApiError, BadRequest

T = TypeVar("T", bound=BaseModel)
NDJSON = "application/x-ndjson"


async def parse_body(request: Request, model: type[T]) -> T:
    """The body as ``model``; a missing, non-JSON or mistyped body is a ``BadRequest``."""
    raw = await request.body()
    if not raw.strip():
        raise BadRequest("missing request body")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"invalid JSON in request body: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(describe(exc)) from None


def describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"] if not str(part).startswith(("literal[", "dict[", "list[")))
    return f"invalid value for '{where or 'body'}': {first['msg']}"


def error_response(exc: ApiError) -> JSONResponse:
    return JSONResponse({"error": exc.message}, status_code=exc.status)


def ndjson(chunks: AsyncIterator[dict[str, Any]]) -> StreamingResponse:
    async def lines() -> AsyncIterator[bytes]:
        async for chunk in chunks:
            yield json.dumps(chunk, ensure_ascii=False).encode() + b"\n"

    return StreamingResponse(lines(), media_type=NDJSON)


def now_iso() -> str:
    """Ollama's ``created_at``: RFC 3339 with nanoseconds, UTC."""
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + f".{ns % 1_000_000_000:09d}Z"


def iso_of(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(timestamp)) + f".{int(timestamp % 1 * 1e9):09d}Z"
