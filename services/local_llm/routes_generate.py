"""``/api/chat``, ``/api/generate``, ``/api/embed`` and the older ``/api/embeddings``."""

from __future__ import annotations

import functools
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from services.local_llm.answers import Shape, respond
from services.local_llm.engine import GenerationSpec
from services.local_llm.errors import BadRequest
from services.local_llm.http_io import parse_body
from services.local_llm.prompting import PromptSpec
from services.local_llm.registry import ModelEntry
from services.local_llm.schemas import (
    ChatRequest,
    EmbeddingsRequest,
    EmbedRequest,
    GenerateRequest,
    Generating,
    Options,
)
from services.local_llm.service import LocalLLM

router = APIRouter()


def llm_of(request: Request) -> LocalLLM:
    llm: LocalLLM = request.app.state.llm
    return llm


@router.post("/api/chat")
async def chat(request: Request) -> Response:
    started = time.perf_counter()
    body = await parse_body(request, ChatRequest)
    llm = llm_of(request)
    entry = llm.resolve(body.model)
    _refuse_unsupported(body, any(m.images for m in body.messages))
    shape = Shape("chat", body.model, started)
    if not body.messages:
        return JSONResponse(shape.loaded("unload" if _unloads(body.keep_alive) else "load"))
    tools = list(body.tools or [])
    prompt = PromptSpec(messages=body.messages, system=entry.system, tools=tools, json_hint=bool(body.format))
    return await respond(request, llm, _spec(llm, entry, body, prompt, tools), shape)


@router.post("/api/generate")
async def generate(request: Request) -> Response:
    started = time.perf_counter()
    body = await parse_body(request, GenerateRequest)
    llm = llm_of(request)
    entry = llm.resolve(body.model)
    _refuse_unsupported(body, bool(body.images))
    if body.suffix:
        raise BadRequest(f'"{body.model}" does not support insert')
    shape = Shape("generate", body.model, started)
    if not body.prompt:
        return JSONResponse(shape.loaded("unload" if _unloads(body.keep_alive) else "load"))
    system = body.system if body.system is not None else entry.system
    prompt = PromptSpec(prompt=body.prompt, system=system, raw=body.raw, json_hint=bool(body.format))
    return await respond(request, llm, _spec(llm, entry, body, prompt, []), shape)


@router.post("/api/embed")
async def embed(request: Request) -> Response:
    started = time.perf_counter()
    body = await parse_body(request, EmbedRequest)
    llm = llm_of(request)
    entry = llm.resolve(body.model)
    texts = [body.input] if isinstance(body.input, str) else list(body.input)
    if not texts:
        return JSONResponse({"model": body.model, "embeddings": []})
    vectors, tokens, load_ns = await _embed(llm, entry, texts, body.truncate, body.dimensions, body.options)
    return JSONResponse({"model": body.model, "embeddings": vectors,
                         "total_duration": int((time.perf_counter() - started) * 1e9), "load_duration": load_ns,
                         "prompt_eval_count": tokens})


@router.post("/api/embeddings")
async def embeddings(request: Request) -> Response:
    body = await parse_body(request, EmbeddingsRequest)
    llm = llm_of(request)
    entry = llm.resolve(body.model)
    if not body.prompt:
        return JSONResponse({"embedding": []})
    vectors, _, _ = await _embed(llm, entry, [body.prompt], True, None, body.options)
    return JSONResponse({"embedding": vectors[0]})


async def _embed(llm: LocalLLM, entry: ModelEntry, texts: list[str], truncate: bool, dimensions: int | None,
                 options: dict[str, Any] | None) -> tuple[list[list[float]], int, int]:
    num_ctx = _options(entry, options or {}).num_ctx or llm.settings.local_llm_num_ctx
    fn = functools.partial(llm.engine.embed, texts, llm.adapter_of(entry), truncate, num_ctx, dimensions)
    (vectors, tokens), load_ns = await llm.call(lambda job: fn(), counted=True)
    return vectors, tokens, load_ns


def _spec(llm: LocalLLM, entry: ModelEntry, body: Generating, prompt: PromptSpec, tools: list[Any]) -> GenerationSpec:
    options = _options(entry, body.options.model_dump(exclude_unset=True))
    num_predict = options.num_predict if options.num_predict is not None else llm.settings.local_llm_default_num_predict
    return GenerationSpec(prompt=prompt, options=options, num_predict=num_predict,
                          num_ctx=options.num_ctx or llm.settings.local_llm_num_ctx,
                          format=body.format or None, tools=tools, adapter=llm.adapter_of(entry), stream=body.stream)


def _options(entry: ModelEntry, given: dict[str, Any]) -> Options:
    """The tag's PARAMETERs (from /api/create) overridden by the request's options."""
    try:
        return Options.model_validate({**entry.parameters, **given})
    except ValidationError as exc:
        raise BadRequest(f"invalid options: {exc.errors()[0]['msg']}") from None


def _refuse_unsupported(body: Generating, images: bool) -> None:
    if body.think not in (None, False):
        raise BadRequest(f'"{body.model}" does not support thinking')
    if images:
        raise BadRequest(f'"{body.model}" does not support images')


def _unloads(keep_alive: float | str | None) -> bool:
    return keep_alive in (0, "0", "0s", "0m")
