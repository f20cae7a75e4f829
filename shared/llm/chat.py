"""The chat vocabulary: messages in, a ``ChatReply`` (content and tool calls) out, and the
``ChatBackend`` protocol every backend meets, so callers never see a client library."""

from __future__ import annotations

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
