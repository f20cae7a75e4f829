"""``/healthz`` and ``/metrics`` (Prometheus). No auth.

``/healthz``: ``ok`` when Redis and the LLM server answer; ``degraded`` (still 200: tasks are
accepted and wait) when the LLM server does not; ``unavailable`` (503) when Redis does not.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from services.api.deps import State
from services.api.responses import TEXT
from shared.errors import LLMUnreachable

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    redis: str
    llm: str | None = None


@router.get("/healthz", response_model=Health, responses={503: {
    "model": Health, "description": "Redis unavailable, or too many connections (text/plain)", "content": TEXT}})
async def healthz(state: State) -> JSONResponse:
    try:
        await asyncio.wait_for(state.redis.ping(), timeout=1.0)
    except Exception as exc:  # any failure to reach Redis means "not healthy"
        return JSONResponse({"status": "unavailable", "redis": f"unreachable: {exc}"},
                            status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
    try:
        await state.llm.ping()
    except LLMUnreachable as exc:
        return JSONResponse({"status": "degraded", "redis": "ok", "llm": f"unreachable: {exc}"})
    return JSONResponse({"status": "ok", "redis": "ok", "llm": "ok"})


@router.get("/metrics", response_class=PlainTextResponse, responses={200: {"content": TEXT}})
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
