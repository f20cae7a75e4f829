"""ToolBox: tools offered through Ollama ``tools=``, calls run in the sandbox, results fed back."""

from __future__ import annotations

import functools
import json

import pytest

from shared.errors import LLMBadAnswer
from shared.keys import QUEUE_TOOL_FORGE
from shared.llm import LLMClient
from shared.tools import LocalInvoker, ToolBox, ToolRegistry, check_tool_code
from shared.tools.toolbox import NO_MORE_TOOLS, forge_worker_alive
from tests.support.fake_ollama import FakeOllama
from tests.support.sandbox import unreachable_sandbox
from tests.support.tool_sources import WORD_COUNT
from workers.tool_forge.settings import DEFAULT_ALLOWED_IMPORTS

MODEL = "llama3.2:3b"
SYSTEM_AND_TASK = [{"role": "system", "content": "You are BRICK"}, {"role": "user", "content": "count"}]


async def toolbox(redis, sandbox, **kwargs) -> ToolBox:
    registry = ToolRegistry(redis)
    await registry.register(check_tool_code(WORD_COUNT, DEFAULT_ALLOWED_IMPORTS))
    return ToolBox(registry, LocalInvoker(registry, sandbox), **kwargs)


def call(name: str, **arguments: object) -> dict:
    return {"content": "", "tool_calls": [{"name": name, "arguments": arguments}]}


@pytest.mark.docker
async def test_a_tool_call_runs_in_the_sandbox_and_its_result_is_fed_back(redis, sandbox,
                                                                          fake_ollama: FakeOllama) -> None:
    box = await toolbox(redis, sandbox)
    fake_ollama.queue(MODEL, call("word_count", text="to be or not to be"), "There are 6 words.")
    llm = LLMClient(fake_ollama.host, 5.0)
    try:
        reply = await box.chat(llm, MODEL, list(SYSTEM_AND_TASK))
    finally:
        await llm.aclose()
    assert reply.content == "There are 6 words." and box.calls == 1
    first, second = fake_ollama.chats(MODEL)
    assert [t["function"]["name"] for t in first["tools"]] == ["word_count"]
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["tool_name"] == "word_count"
    assert json.loads(tool_message["content"]) == {"ok": True, "value": 6}
    assert second["messages"][-2]["tool_calls"][0]["function"]["name"] == "word_count"


async def test_rounds_are_bounded_and_errors_are_fed_back(redis, fake_ollama: FakeOllama) -> None:
    box = await toolbox(redis, unreachable_sandbox(), max_rounds=2)
    fake_ollama.queue(MODEL, call("nope", x=1), call("word_count", txt="wrong"),
                      "Giving up on tools: about 6 words.")
    llm = LLMClient(fake_ollama.host, 5.0)
    try:
        reply = await box.chat(llm, MODEL, list(SYSTEM_AND_TASK))
    finally:
        await llm.aclose()
    chats = fake_ollama.chats(MODEL)
    assert len(chats) == 3 and reply.content == "Giving up on tools: about 6 words."
    assert "no tool 'nope'" in json.loads(chats[1]["messages"][-1]["content"])["error"]
    assert "no parameter(s) txt" in json.loads(chats[2]["messages"][-2]["content"])["error"]
    # after max_rounds the model is told to answer and offered no tools
    assert chats[2]["messages"][-2]["role"] == "tool"
    assert chats[2]["messages"][-1] == {"role": "user", "content": NO_MORE_TOOLS}
    assert chats[0]["tools"] and chats[1]["tools"] and not chats[2].get("tools")


async def test_a_model_that_only_calls_tools_is_a_bad_answer(redis, fake_ollama: FakeOllama) -> None:
    box = await toolbox(redis, unreachable_sandbox(), max_rounds=1)
    fake_ollama.queue(MODEL, call("nope"), call("nope"))
    llm = LLMClient(fake_ollama.host, 5.0)
    try:
        with pytest.raises(LLMBadAnswer, match="no text answer"):
            await box.chat(llm, MODEL, list(SYSTEM_AND_TASK))
    finally:
        await llm.aclose()


async def test_no_registered_tools_means_a_plain_chat(redis, fake_ollama: FakeOllama) -> None:
    registry = ToolRegistry(redis)
    box = ToolBox(registry, LocalInvoker(registry, unreachable_sandbox()))
    llm = LLMClient(fake_ollama.host, 5.0)
    try:
        reply = await box.chat(llm, MODEL, list(SYSTEM_AND_TASK))
    finally:
        await llm.aclose()
    assert reply.content == "echo: count" and not fake_ollama.chats(MODEL)[0].get("tools")


async def test_tools_are_not_offered_while_no_forge_worker_is_alive(redis, fake_ollama: FakeOllama) -> None:
    registry = ToolRegistry(redis)
    await registry.register(check_tool_code(WORD_COUNT, DEFAULT_ALLOWED_IMPORTS))
    box = ToolBox(registry, LocalInvoker(registry, unreachable_sandbox()),
                  ready=functools.partial(forge_worker_alive, redis))
    llm = LLMClient(fake_ollama.host, 5.0)
    try:
        await box.chat(llm, MODEL, list(SYSTEM_AND_TASK))
        await redis.set(QUEUE_TOOL_FORGE + ":health-check", "alive", ex=30)  # as a running worker does
        fake_ollama.queue(MODEL, "counted")
        await box.chat(llm, MODEL, list(SYSTEM_AND_TASK))
    finally:
        await llm.aclose()
    first, second = fake_ollama.chats(MODEL)
    assert not first.get("tools")
    assert [t["function"]["name"] for t in second["tools"]] == ["word_count"]
