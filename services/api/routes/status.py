"""``GET /v1/status``: the whole system at a glance, for ``batos status`` and the dashboard.

Redis, the LLM server, the sandbox (the tool-forge worker's last probe), each arq queue's depth,
running jobs, oldest waiting job and workers alive, the services alive and each persona's model.
Gathered by ``shared.status.system_status``; 503 with the same body when Redis is unreachable.
"""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from services.api.deps import State
from shared.status import Overall, SystemStatus, system_status

router = APIRouter(prefix="/v1/status", tags=["status"])


@router.get("", response_model=SystemStatus, summary="System status", responses={503: {
    "model": SystemStatus, "description": "down: Redis is unreachable (the body says what is known)"}})
async def get_status(state: State) -> JSONResponse:
    """``ok``, ``degraded`` or ``down`` with the reasons, and every part: Redis, the LLM server, the
    sandbox, each queue (depth, running, oldest waiting job, workers alive), services and personas."""
    report = await system_status(state.redis, state.llm, state.personas)
    code = status.HTTP_503_SERVICE_UNAVAILABLE if report.status == Overall.DOWN else status.HTTP_200_OK
    return JSONResponse(report.model_dump(mode="json"), status_code=code)
