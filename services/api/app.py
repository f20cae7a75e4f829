"""The FastAPI application: one lifespan that opens and closes what the routes share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.api.auth import BearerAuthMiddleware
from services.api.body_limit import BodyLimitMiddleware
from services.api.deps import AppState
from services.api.metrics import MetricsMiddleware
from services.api.routes import codex, datasets, events, fine_tunes, health, personas, tasks, tools
from services.api.settings import ApiSettings
from shared.errors import InvalidInput, LLMError, NotFound
from shared.events import EventBus
from shared.llm import LLMClient
from shared.personas import PersonaRegistry
from shared.redis import connect
from shared.stores.tasks import TaskStore

HEALTH_LLM_TIMEOUT_S = 2.0
PROTECTED_ROUTERS = [tasks.router, personas.router, events.router, codex.router, fine_tunes.router,
                     datasets.router, tools.router]


def create_app(settings: ApiSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = await connect(settings.redis_url, retries=0)
        app.state.batos = AppState(
            settings=settings,
            redis=redis,
            bus=EventBus(redis, source=settings.service_name, journal_maxlen=settings.event_journal_maxlen),
            tasks=TaskStore(redis),
            personas=PersonaRegistry.from_settings(redis, settings),
            llm=LLMClient(settings.ollama_host, timeout_s=HEALTH_LLM_TIMEOUT_S),
        )
        try:
            yield
        finally:
            await app.state.batos.llm.aclose()
            await redis.aclose()

    app = FastAPI(title="BAT OS engine", version="0.1.0", lifespan=lifespan)
    app.add_middleware(BearerAuthMiddleware, token=settings.api_token.get_secret_value())
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.api_max_body_bytes)  # outermost: before auth
    app.include_router(health.router)
    for router in PROTECTED_ROUTERS:
        app.include_router(router)  # guarded by BearerAuthMiddleware (every /v1 path)
    _add_error_handlers(app)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    async def not_found(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_404_NOT_FOUND)

    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_409_CONFLICT)

    async def llm_failed(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_502_BAD_GATEWAY)

    async def redis_down(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": f"state store unavailable: {exc}"},
                            status_code=status.HTTP_503_SERVICE_UNAVAILABLE)

    async def invalid_request(_: Request, exc: Exception) -> JSONResponse:
        # FastAPI's own handler echoes each bad ``input``: NaN or Infinity there made it a 500.
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        detail = [{k: e[k] for k in ("type", "loc", "msg") if k in e} for e in errors]
        return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(NotFound, not_found)
    app.add_exception_handler(InvalidInput, invalid)
    app.add_exception_handler(LLMError, llm_failed)
    app.add_exception_handler(RedisConnectionError, redis_down)
    app.add_exception_handler(RedisTimeoutError, redis_down)
