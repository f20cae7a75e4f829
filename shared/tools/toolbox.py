"""Tool calling for the personas: registered tools offered through Ollama, run only in the sandbox.

``ToolBox.chat(llm, model, messages)`` offers the registry's tools (``tools=``), executes each
tool call the model makes through its ``Invoker`` (a sandbox container per call, run by a
tool-forge worker or, with ``LocalInvoker``, by this process's sandbox; never by this
interpreter), feeds each result back as a ``role: tool`` message and asks again, for at most
``max_rounds`` rounds; then it asks once more without tools, so the model must answer in text.
Tools are offered only while something can run them (``ready``: a tool-forge worker is alive),
so a system without a forge worker answers without tools instead of waiting on calls.
A failed call (unknown tool, bad arguments, the tool raising, a timeout) is fed back as an
error result, never raised: the model may correct itself.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from arq.connections import ArqRedis
from arq.constants import health_check_key_suffix

from shared.errors import LLMBadAnswer
from shared.keys import QUEUE_TOOL_FORGE
from shared.llm import ChatBackend, ChatReply
from shared.tools.calls import Invoker, RemoteInvoker
from shared.tools.registry import ToolRegistry

log = structlog.get_logger(__name__)
NO_MORE_TOOLS = "You have used all the tool calls allowed. Answer now in plain text, without tools."


@dataclass
class ToolBox:
    """The personas' access to registered tools."""

    registry: ToolRegistry
    invoke: Invoker
    max_rounds: int = 3
    max_calls_per_round: int = 4
    max_tools: int = 32
    result_chars: int = 4_000
    ready: Callable[[], Awaitable[bool]] | None = None  # can calls run now? (None: always)
    calls: int = field(default=0, init=False)  # tool calls executed (a counter for metrics and tests)

    async def specs(self) -> list[dict[str, Any]]:
        """Ollama tool definitions of the latest version of each registered tool."""
        return await self.registry.as_ollama_tools(self.max_tools)

    async def call(self, name: str, arguments: dict[str, Any]) -> str:
        """Run one tool call in the sandbox; the JSON text fed back to the model."""
        self.calls += 1
        result = await self.invoke(name, arguments)
        log.info("tool called", tool=name, version=result.version, ok=result.ok, error_type=result.error_type,
                 duration_s=round(result.duration_s, 3))
        if result.ok:
            text = json.dumps({"ok": True, "value": result.value})
            if len(text) <= self.result_chars:
                return text
            return json.dumps({"ok": True, "value_truncated": text[: self.result_chars]})
        return json.dumps({"ok": False, "error": f"{result.error_type}: {(result.error or '')[-1_000:]}"})

    async def chat(self, llm: ChatBackend, model: str, messages: list[dict[str, Any]]) -> ChatReply:
        """The model's final text answer after at most ``max_rounds`` rounds of tool calls."""
        specs = await self.specs()
        if not specs or (self.ready is not None and not await self.ready()):
            return await llm.chat(model, messages)  # no tools to offer, or nothing to run them
        conversation = list(messages)
        for _ in range(self.max_rounds):
            reply = await llm.chat(model, conversation, tools=specs)
            if not reply.tool_calls:
                return reply
            calls = reply.tool_calls[: self.max_calls_per_round]
            conversation.append({"role": "assistant", "content": reply.content, "tool_calls": [
                {"function": {"name": c.name, "arguments": c.arguments}} for c in calls]})
            for c in calls:
                conversation.append({"role": "tool", "tool_name": c.name,
                                     "content": await self.call(c.name, c.arguments)})
        conversation.append({"role": "user", "content": NO_MORE_TOOLS})
        reply = await llm.chat(model, conversation)
        if not reply.content.strip():
            raise LLMBadAnswer(f"{model} gave no text answer after {self.max_rounds} rounds of tool calls")
        return reply


def toolbox_for(redis: ArqRedis, *, call_timeout_s: float = 30.0, **limits: Any) -> ToolBox:
    """A ``ToolBox`` whose calls tool-forge workers run, on the caller's Redis client (a worker's)."""
    return ToolBox(ToolRegistry(redis), RemoteInvoker(redis, call_timeout_s),
                   ready=functools.partial(forge_worker_alive, redis), **limits)


async def forge_worker_alive(redis: ArqRedis) -> bool:
    """A tool-forge worker refreshed its arq health-check key lately (so offered calls can run)."""
    return bool(await redis.exists(QUEUE_TOOL_FORGE + health_check_key_suffix))
