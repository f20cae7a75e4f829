"""The chat vocabulary: messages in, a ``ChatReply`` (content and tool calls) out, and the
``ChatBackend`` protocol every backend meets, so callers never see a client library.

``persona_context("BRICK")`` names the persona on whose behalf the calls inside it are made
(a context variable, so it follows the call into tasks it starts and the protocol stays as it
is); the client labels its latency metric with it (``current_persona()``, ``unknown`` outside).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

from pydantic import BaseModel, Field


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


_PERSONA: ContextVar[str | None] = ContextVar("batos_llm_persona", default=None)
UNKNOWN_PERSONA = "unknown"


@contextmanager
def persona_context(persona: str) -> Iterator[None]:
    """LLM calls made inside (and in tasks started inside) are on behalf of ``persona``."""
    token = _PERSONA.set(persona.upper())
    try:
        yield
    finally:
        _PERSONA.reset(token)


def current_persona() -> str:
    """The persona of the innermost ``persona_context``, else ``unknown``."""
    return _PERSONA.get() or UNKNOWN_PERSONA
