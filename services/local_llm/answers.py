"""An answer as Ollama sends it: one JSON object, or NDJSON chunks ending with ``done: true``.

A streamed answer sends each piece of text as it is decoded; tool calls go in one chunk of
their own before the final one (as Ollama does); the final chunk carries ``done_reason`` and the
durations in nanoseconds. A client that goes away stops the generation: a closed stream cancels
its job, and a non-streamed request is watched for a disconnect while it waits.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from services.local_llm.engine import Answer, GenerationSpec, Text
from services.local_llm.errors import ClientGone
from services.local_llm.http_io import ndjson, now_iso
from services.local_llm.scheduler import Failed, Finished, Job
from services.local_llm.service import LocalLLM, as_api_error

DISCONNECT_POLL_S = 0.5


class Shape:
    def __init__(self, kind: Literal["chat", "generate"], model: str, started: float):
        self.kind, self.model, self.started = kind, model, started
        self.load_ns = 0

    def _head(self, done: bool) -> dict[str, Any]:
        return {"model": self.model, "created_at": now_iso(), "done": done}

    def piece(self, text: str) -> dict[str, Any]:
        if self.kind == "chat":
            return {**self._head(False), "message": {"role": "assistant", "content": text}}
        return {**self._head(False), "response": text}

    def calls(self, calls: list[dict[str, Any]]) -> dict[str, Any]:
        return {**self._head(False), "message": {"role": "assistant", "content": "", "tool_calls": calls}}

    def final(self, answer: Answer, whole: bool) -> dict[str, Any]:
        content = answer.content if whole else ""
        if self.kind == "chat":
            message: dict[str, Any] = {"role": "assistant", "content": content}
            if whole and answer.tool_calls:
                message["tool_calls"] = answer.tool_calls
            body: dict[str, Any] = {**self._head(True), "message": message}
        else:
            body = {**self._head(True), "response": content}
        return {**body, "done_reason": answer.done_reason,
                "total_duration": int((time.perf_counter() - self.started) * 1e9), "load_duration": self.load_ns,
                "prompt_eval_count": answer.prompt_eval_count, "prompt_eval_duration": answer.prompt_eval_ns,
                "eval_count": answer.eval_count, "eval_duration": answer.eval_ns}

    def loaded(self, reason: str) -> dict[str, Any]:
        """The reply to an empty request (Ollama: load the model, or unload it with keep_alive 0)."""
        if self.kind == "chat":
            return {**self._head(True), "message": {"role": "assistant", "content": ""}, "done_reason": reason}
        return {**self._head(True), "response": "", "done_reason": reason}


async def respond(request: Request, llm: LocalLLM, spec: GenerationSpec, shape: Shape) -> Response:
    job, _, shape.load_ns = await llm.submit(functools.partial(llm.engine.answer, spec))
    if not spec.stream:
        try:
            answer = await _result_unless_gone(request, job)
        finally:
            llm.scheduler.cancel(job)
        return JSONResponse(shape.final(answer, whole=True))

    async def chunks() -> AsyncIterator[dict[str, Any]]:
        try:
            async for event in job.channel:
                if isinstance(event, Text):
                    yield shape.piece(event.piece)
                elif isinstance(event, Finished):
                    if event.value.tool_calls:
                        yield shape.calls(event.value.tool_calls)
                    yield shape.final(event.value, whole=False)
                elif isinstance(event, Failed):
                    yield {"error": as_api_error(event.error).message}
        finally:
            llm.scheduler.cancel(job)  # the client went away or the answer is over

    return ndjson(chunks())


async def _result_unless_gone(request: Request, job: Job) -> Answer:
    result = asyncio.ensure_future(job.result())
    try:
        while True:
            done, _ = await asyncio.wait({result}, timeout=DISCONNECT_POLL_S)
            if done:
                answer: Answer = result.result()
                return answer
            if await request.is_disconnected():
                raise ClientGone
    finally:
        result.cancel()
