"""``/healthz`` and ``/metrics`` (Prometheus). No auth.

``/healthz`` tells the truth about what the API depends on (``shared.status``): ``ok``;
``degraded`` (still 200: tasks are accepted and wait) when the LLM server does not answer, the
sandbox probe failed, or a queue has no worker alive; ``down`` (503) when Redis does not answer.
``reasons`` says why, one line each. ``GET /v1/status`` (bearer) has the whole picture.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from redis.exceptions import RedisError

from services.api.deps import State
from services.api.responses import TEXT
from shared.metrics import record_queue_stats
from shared.queues.stats import queue_stats
from shared.status import QUEUES, TIMEOUT_S, Overall, system_status

router = APIRouter(tags=["health"])

DOWN_EXAMPLE = {"status": "down", "reasons": ["redis unreachable: Error 111 connecting to 127.0.0.1:6379. "
                                              "Connection refused."],
                "redis": "unreachable: Error 111 connecting to 127.0.0.1:6379. Connection refused.", "llm": "ok"}
METRICS_EXAMPLE = """\
# HELP batos_queue_depth Jobs in the queue (waiting, deferred and running); every replica of a kind reports it: \
aggregate with max
# TYPE batos_queue_depth gauge
batos_queue_depth{queue="batos:queue:cognition"} 3.0
batos_queue_depth{queue="batos:queue:tool_forge"} 0.0
# HELP batos_queue_oldest_age_seconds How long the oldest due job that no worker holds has waited (0: none)
# TYPE batos_queue_oldest_age_seconds gauge
batos_queue_oldest_age_seconds{queue="batos:queue:cognition"} 4.2
# HELP batos_jobs_total Jobs run (tries) by worker kind, job and outcome (done, deferred, redis_lost, raised, \
cancelled)
# TYPE batos_jobs_total counter
batos_jobs_total{job="cognition",outcome="done",worker="cognition"} 42.0
"""


class Health(BaseModel):
    """What ``/healthz`` answers: the verdict, why, and the two things every task needs."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"status": "ok", "reasons": [], "redis": "ok", "llm": "ok"},
        {"status": "degraded", "reasons": ["no cognition worker alive (3 jobs in batos:queue:cognition)"],
         "redis": "ok", "llm": "ok"}]})

    status: Overall = Field(description="ok; degraded (200: tasks are accepted and wait); down (503: Redis is away)")
    reasons: list[str] = Field(default_factory=list, description=(
        "why not ok: the LLM server unreachable, the sandbox unreachable, a queue without a worker, Redis away"))
    redis: str = Field(description="ok, or unreachable: <why>")
    llm: str = Field(description="ok, or unreachable: <why>")


@router.get("/healthz", response_model=Health, summary="Health", responses={503: {
    "model": Health, "description": "down: Redis is unreachable (or, as text/plain, too many connections)",
    "content": {"application/json": {"example": DOWN_EXAMPLE},
                "text/plain": {**TEXT["text/plain"], "example": "Service Unavailable"}}}})
async def healthz(state: State) -> JSONResponse:
    """``ok``, ``degraded`` (200) or ``down`` (503), with the reasons. No token needed."""
    report = await state.health.get(lambda: system_status(state.redis, state.llm))  # at most one a second
    body = Health(status=report.status, reasons=report.reasons, redis=report.redis,
                  llm="ok" if report.llm.reachable else f"unreachable: {report.llm.error}")
    code = status.HTTP_503_SERVICE_UNAVAILABLE if report.status == Overall.DOWN else status.HTTP_200_OK
    return JSONResponse(body.model_dump(mode="json"), status_code=code)


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics",
            response_description="this process's metrics in the Prometheus text exposition format",
            responses={200: {"content": {"text/plain": {**TEXT["text/plain"], "example": METRICS_EXAMPLE}}}})
async def metrics(state: State) -> Response:
    """The API process's ``batos_*`` metrics (``shared.metrics``), for Prometheus to scrape. No token needed.

    Before rendering, the queue gauges (``batos_queue_depth``, ``batos_queue_oldest_age_seconds``) are
    refreshed from Redis for every queue; while Redis is unreachable they keep their last values and the
    rest is served all the same.
    """
    try:
        async with asyncio.timeout(TIMEOUT_S):
            record_queue_stats(await queue_stats(state.redis, [queue for _kind, queue in QUEUES]))
    except (RedisError, OSError, TimeoutError):  # Redis away: the gauges keep their last values
        pass
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
