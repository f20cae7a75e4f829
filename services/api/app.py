"""The FastAPI application: one lifespan that opens and closes what the routes share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.api.auth import BearerAuthMiddleware
from services.api.body_limit import BodyLimitMiddleware
from services.api.deps import AppState
from services.api.metrics import MetricsMiddleware
from services.api.responses import declare_common_responses
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
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.api_max_body_bytes,
                       timeout_s=settings.api_body_timeout_s)  # outermost: before auth
    routers = [health.router, *PROTECTED_ROUTERS]  # every /v1 path is guarded by BearerAuthMiddleware
    routes = [route for router in routers for route in router.routes if isinstance(route, APIRoute)]
    declare_common_responses(routes)  # before the routers are included: FastAPI copies their routes
    for router in routers:
        app.include_router(router)
    _add_error_handlers(app, routes)
    return app


def allowed_methods(routes: list[APIRoute], path: str) -> str:
    """Every method some route answers at ``path`` (Starlette's 405 names only the first route's)."""
    methods = {m for route in routes if route.path_regex.match(path) for m in route.methods or ()}
    return ", ".join(sorted(methods))


def _add_error_handlers(app: FastAPI, routes: list[APIRoute]) -> None:
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
    app.add_exception_handler(NotFound, not_found)
    app.add_exception_handler(InvalidInput, invalid)
    app.add_exception_handler(LLMError, llm_failed)
    app.add_exception_handler(RedisConnectionError, redis_down)
    app.add_exception_handler(RedisTimeoutError, redis_down)
