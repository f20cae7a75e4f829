"""``/healthz`` (pings Redis; 503 when it can't) and ``/metrics`` (Prometheus). No auth."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.api.deps import State

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(state: State) -> JSONResponse:
    try:
        await asyncio.wait_for(state.redis.ping(), timeout=1.0)
    except Exception as exc:  # any failure to reach Redis means "not healthy"
        return JSONResponse({"status": "unavailable", "redis": f"unreachable: {exc}"},
                            status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
    return JSONResponse({"status": "ok", "redis": "ok"})


@router.get("/metrics")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
