"""Model management routes: tags, show, ps, version, blobs, create, copy, delete."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from services.local_llm.errors import BadRequest, BlobNotFound
from services.local_llm.http_io import ndjson, parse_body
from services.local_llm.models import Models
from services.local_llm.registry import canonical
from services.local_llm.schemas import CopyRequest, CreateRequest, NamedRequest

VERSION = "0.12.0-batos"
router = APIRouter()


def models_of(request: Request) -> Models:
    models: Models = request.app.state.models
    return models


@router.get("/api/version")
async def version() -> Response:
    return JSONResponse({"version": VERSION})


@router.get("/api/tags")
async def tags(request: Request) -> Response:
    models = models_of(request)
    return JSONResponse({"models": [models.summary(e) for e in models.registry.all()]})


@router.get("/api/ps")
async def ps(request: Request) -> Response:
    return JSONResponse({"models": models_of(request).running()})


@router.post("/api/show")
async def show(request: Request) -> Response:
    body = await parse_body(request, NamedRequest)
    models = models_of(request)
    return JSONResponse(models.show(models.llm.resolve(body.target())))


@router.head("/api/blobs/{digest}")
async def has_blob(request: Request, digest: str) -> Response:
    if not models_of(request).llm.blobs.exists(digest):
        raise BlobNotFound(f'blob "{digest}" not found')
    return Response(status_code=200)


@router.post("/api/blobs/{digest}")
async def push_blob(request: Request, digest: str) -> Response:
    created = await models_of(request).llm.blobs.receive(digest, request.stream())
    return Response(status_code=201 if created else 200)


@router.post("/api/create")
async def create(request: Request) -> Response:
    body = await parse_body(request, CreateRequest)
    statuses = await models_of(request).create(body)
    if not body.stream:
        return JSONResponse(statuses[-1])

    async def lines() -> AsyncIterator[dict[str, Any]]:
        for status in statuses:
            yield status

    return ndjson(lines())


@router.post("/api/copy")
async def copy(request: Request) -> Response:
    body = await parse_body(request, CopyRequest)
    models_of(request).copy(body.source, body.destination)
    return Response(status_code=200)


@router.delete("/api/delete")
async def delete(request: Request) -> Response:
    body = await parse_body(request, NamedRequest)
    if not body.target():
        raise BadRequest("model is required")
    canonical(body.target())
    await models_of(request).delete(body.target())
    return Response(status_code=200)
