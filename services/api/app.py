"""The FastAPI application: one lifespan that opens and closes what the routes share.

Which error answers with which status is decided in ``services.api.errors`` alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from services.api import dashboard
from services.api.auth import BearerAuthMiddleware
from services.api.body_limit import BodyLimitMiddleware
from services.api.deps import AppState, HealthCache
from services.api.docs import install_docs
from services.api.errors import add_error_handlers
from services.api.metrics import MetricsMiddleware
from services.api.responses import declare_common_responses
from services.api.routes import codex, datasets, events, fine_tunes, health, personas, tasks, tools
from services.api.routes import status as status_route
from services.api.settings import ApiSettings
from shared.events import EventBus
from shared.llm import LLMClient
from shared.personas import PersonaRegistry
from shared.redis import connect
from shared.stores.tasks import TaskStore

HEALTH_LLM_TIMEOUT_S = 2.0
PROTECTED_ROUTERS = [tasks.router, personas.router, events.router, codex.router, fine_tunes.router,
                     datasets.router, tools.router, dashboard.data_router, status_route.router]


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
            health=HealthCache(settings.api_health_cache_s),
        )
        try:
            yield
        finally:
            await app.state.batos.llm.aclose()
            await redis.aclose()

    app = FastAPI(title="BAT OS engine", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    install_docs(app)  # /docs, /redoc and their assets, served here (no CDN); bearer scheme declared
    app.add_middleware(BearerAuthMiddleware, token=settings.api_token.get_secret_value())
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.api_max_body_bytes,
                       timeout_s=settings.api_body_timeout_s)  # outermost: before auth
    # every /v1 path is guarded by BearerAuthMiddleware; the dashboard page (/, /dashboard/*) is public
    routers = [health.router, dashboard.page_router, *PROTECTED_ROUTERS]
    routes = [route for router in routers for route in router.routes if isinstance(route, APIRoute)]
    declare_common_responses(routes)  # before the routers are included: FastAPI copies their routes
    for router in routers:
        app.include_router(router)
    add_error_handlers(app, routes)  # errors -> statuses: services/api/errors.py
    return app
