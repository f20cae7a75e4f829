"""A persona's tool call during a task: offered through Ollama ``tools=``, run in the sandbox.

The cognition worker gets a ``ToolBox`` whose calls a tool-forge worker runs (as in production:
only that worker kind holds the Docker engine); BRICK (the fake Ollama) calls ``word_count``,
reads the result fed back as a ``role: tool`` message, and answers with it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from shared.stores.status import RunStatus
from shared.stores.tasks import TaskRecord, TaskStore
from shared.task_intake import submit_task
from shared.tools import RemoteInvoker, ToolBox, ToolRegistry, check_tool_code
from tests.support.fake_ollama import Answer, FakeOllama
from tests.support.sandbox import real_sandbox
from tests.support.tool_sources import WORD_COUNT
from tests.workers.cognition.helpers import personas, run_cognition
from tests.workers.tool_forge.conftest import run_forge_once_queued
from workers.cognition.settings import CognitionSettings
from workers.tool_forge.settings import DEFAULT_ALLOWED_IMPORTS, ToolForgeSettings

pytestmark = pytest.mark.docker


def brick_with_tools(body: dict[str, Any]) -> Answer:
    last = body["messages"][-1]
    if last["role"] == "tool":
        return f"BRICK: the tool says {json.loads(last['content'])['value']} words."
    assert [t["function"]["name"] for t in body["tools"]] == ["word_count"]
    return {"content": "", "tool_calls": [{"name": "word_count", "arguments": {"text": "to be or not to be"}}]}


async def test_a_persona_tool_call_runs_in_the_sandbox(redis, live_redis, fake_ollama: FakeOllama,
                                                       cognition_settings: CognitionSettings) -> None:
    registry = ToolRegistry(redis)
    await registry.register(check_tool_code(WORD_COUNT, DEFAULT_ALLOWED_IMPORTS))
    fake_ollama.on_chat(personas(brick=brick_with_tools))
    record, _ = await submit_task(redis, TaskStore(redis), TaskRecord(text="How many words in Hamlet's line?"))
    toolbox = ToolBox(registry, RemoteInvoker(redis, timeout_s=30))
    forge_settings = ToolForgeSettings(redis_url=live_redis.url, environment="test")

    await asyncio.gather(run_cognition(cognition_settings, tools=toolbox),
                         run_forge_once_queued(redis, forge_settings, sandbox=real_sandbox()))

    task = await TaskStore(redis).get(record.id)
    assert task.status is RunStatus.SUCCEEDED, task.error
    assert toolbox.calls == 1
    brick_chats = [c for c in fake_ollama.chats() if c["messages"][0]["content"].startswith("You are BRICK")]
    assert len(brick_chats) == 2
    tool_turn = brick_chats[1]["messages"][-1]
    assert tool_turn["role"] == "tool" and json.loads(tool_turn["content"]) == {"ok": True, "value": 6}
    assert task.result is not None
    assert task.result["contributions"][0]["content"] == "BRICK: the tool says 6 words."
