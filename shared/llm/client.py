"""``LLMClient``: chat with a system prompt, JSON-schema structured output, tool calling.

Errors are mapped onto the tree in ``shared.errors``: no answer at all (connection refused,
timeout) is ``LLMUnreachable``; an HTTP error status, an empty reply or output that does not
match the requested schema is ``LLMBadAnswer``. ``ChatBackend`` is the protocol every backend
meets (Ollama today; a local in-process model later), so callers never see the client library.
"""

from __future__ import annotations

import json
import time
from typing import Any, Protocol, TypeVar

import httpx
import ollama
from pydantic import BaseModel, Field, ValidationError

from shared.errors import LLMBadAnswer, LLMUnreachable

M = TypeVar("M", bound=BaseModel)


class ToolCall(BaseModel):
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ChatReply(BaseModel):
    """The assistant's message and what it cost."""

    model: str
    content: str
    tool_calls: list[ToolCall] = Field(default_factory=list)
    duration_s: float


def system_and_user(system: str | None, user: str) -> list[dict[str, Any]]:
    """The common two-message conversation."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": user})
    return messages


class ChatBackend(Protocol):
    """What an LLM backend offers the rest of the system."""

    async def chat(
        self,
        model: str,
        messages: list[dict[str, Any]],
        *,
        format: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
        options: dict[str, Any] | None = None,
    ) -> ChatReply: ...


class LLMClient:
    """Ollama backend over ``ollama.AsyncClient``."""

    def __init__(self, host: str, timeout_s: float = 120.0, client: ollama.AsyncClient | None = None):
        self.host = host
        self._client = client or ollama.AsyncClient(host=host, timeout=timeout_s)

    @property
    def raw(self) -> ollama.AsyncClient:
        """The underlying client, for model management (create, blobs, show) in the fine-tune worker."""
        return self._client

    async def chat(
        self,
        model: str,
        messages: list[dict[str, Any]],
        *,
        format: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
        options: dict[str, Any] | None = None,
    ) -> ChatReply:
        started = time.perf_counter()
        try:
            response = await self._client.chat(model=model, messages=messages, format=format, tools=tools,
                                               options=options, stream=False)
        except (ConnectionError, httpx.TransportError) as exc:
            raise LLMUnreachable(f"Ollama at {self.host} did not answer: {exc}") from exc
        except ollama.ResponseError as exc:
            raise LLMBadAnswer(f"Ollama answered HTTP {exc.status_code} for {model}: {exc.error}") from exc
        message = response.message
        calls = [ToolCall(name=c.function.name, arguments=dict(c.function.arguments or {}))
                 for c in (message.tool_calls or [])]
        content = message.content or ""
        if not content.strip() and not calls:
            raise LLMBadAnswer(f"{model} gave an empty answer")
        return ChatReply(model=model, content=content, tool_calls=calls,
                         duration_s=time.perf_counter() - started)

    async def ping(self) -> list[str]:
        """The models the server has loaded now (``/api/ps``); ``LLMUnreachable`` when it does not answer."""
        try:
            running = await self._client.ps()
        except (ConnectionError, httpx.TransportError) as exc:
            raise LLMUnreachable(f"Ollama at {self.host} did not answer: {exc}") from exc
        except ollama.ResponseError as exc:
            raise LLMUnreachable(f"Ollama at {self.host} answered HTTP {exc.status_code}: {exc.error}") from exc
        return [m.model or "" for m in running.models]

    async def chat_structured(self, model: str, messages: list[dict[str, Any]], schema: type[M]) -> M:
        """Ask for JSON matching ``schema`` (sent as ``format=``) and validate the answer."""
        reply = await self.chat(model, messages, format=schema.model_json_schema())
        return parse_structured(reply.content, schema)

    async def aclose(self) -> None:
        await self._client._client.aclose()


def parse_structured(text: str, schema: type[M]) -> M:
    """Validate a structured answer; ``LLMBadAnswer`` names what was wrong with it."""
    try:
        return schema.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise LLMBadAnswer(f"answer is not JSON ({exc.msg}): {text[:200]!r}") from exc
    except ValidationError as exc:
        raise LLMBadAnswer(f"answer does not match {schema.__name__}: {exc.errors()[:3]}") from exc
