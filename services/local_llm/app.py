"""The FastAPI app: Ollama's HTTP API, every error as ``{"error": "..."}`` with Ollama's status."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from services.local_llm.errors import ApiError
from services.local_llm.http_io import error_response
from services.local_llm.models import Models
from services.local_llm.routes_generate import router as generate_router
from services.local_llm.routes_models import router as models_router
from services.local_llm.service import LocalLLM
from services.local_llm.settings import LocalLLMSettings

log = structlog.get_logger(__name__)


def create_app(settings: LocalLLMSettings) -> FastAPI:
    llm = LocalLLM(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await llm.start()
        try:
            yield
        finally:
            await llm.stop()

    app = FastAPI(title="BAT OS local LLM (Ollama API)", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.llm = llm
    app.state.models = Models(llm)
    app.include_router(generate_router)
    app.include_router(models_router)

    @app.get("/")
    async def root() -> JSONResponse:
        return JSONResponse("Ollama is running")

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail).lower()}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": str(exc.errors()[0].get("msg", "invalid request"))}, status_code=400)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("request_failed", error=str(exc))
        return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=500)

    return app
