"""The LLM interface through the real ``ollama`` client against the Ollama-protocol test server."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from shared.errors import LLMBadAnswer, LLMUnreachable
from shared.llm import LLMClient, system_and_user
from tests.support.fake_ollama import Failure, FakeOllama
from tests.support.redis_server import free_port


class Verdict(BaseModel):
    score: float


async def test_chat_sends_system_prompt_and_returns_content(fake_ollama: FakeOllama) -> None:
    fake_ollama.queue("llama3.2:3b", "forty-two")
    llm = LLMClient(fake_ollama.host)
    reply = await llm.chat("llama3.2:3b", system_and_user("You are BRICK.", "meaning of life?"))
    assert reply.content == "forty-two" and reply.model == "llama3.2:3b"
    sent = fake_ollama.chats()[-1]
    assert sent["messages"][0] == {"role": "system", "content": "You are BRICK."}
    assert sent["stream"] is False


async def test_structured_output_sends_schema_and_validates(fake_ollama: FakeOllama) -> None:
    fake_ollama.queue("judge:1b", '{"score": 0.25}', "0.8/1.0")
    llm = LLMClient(fake_ollama.host)
    verdict = await llm.chat_structured("judge:1b", system_and_user(None, "rate"), Verdict)
    assert verdict.score == 0.25
    assert fake_ollama.chats()[-1]["format"]["properties"]["score"]["type"] == "number"
    with pytest.raises(LLMBadAnswer, match="not JSON"):
        await llm.chat_structured("judge:1b", system_and_user(None, "rate"), Verdict)


async def test_tool_calls_come_back_as_dicts(fake_ollama: FakeOllama) -> None:
    fake_ollama.queue("llama3.2:3b", {"content": "", "tool_calls": [{"name": "add", "arguments": {"a": 1}}]})
    tools = [{"type": "function", "function": {"name": "add", "description": "add",
                                                "parameters": {"type": "object", "properties": {}}}}]
    reply = await LLMClient(fake_ollama.host).chat("llama3.2:3b", system_and_user(None, "1+?"), tools=tools)
    assert reply.tool_calls[0].name == "add" and reply.tool_calls[0].arguments == {"a": 1}
    assert fake_ollama.chats()[-1]["tools"][0]["function"]["name"] == "add"


async def test_errors_tell_unreachable_from_bad_answer(fake_ollama: FakeOllama) -> None:
    with pytest.raises(LLMUnreachable):
        await LLMClient(f"http://127.0.0.1:{free_port()}").chat("m", system_and_user(None, "hi"))
    llm = LLMClient(fake_ollama.host)
    with pytest.raises(LLMBadAnswer, match="404"):
        await llm.chat("no-such-model", system_and_user(None, "hi"))
    fake_ollama.queue("llama3.2:3b", Failure(500, "out of memory"), "   ")
    with pytest.raises(LLMBadAnswer, match="out of memory"):
        await llm.chat("llama3.2:3b", system_and_user(None, "hi"))
    with pytest.raises(LLMBadAnswer, match="empty"):
        await llm.chat("llama3.2:3b", system_and_user(None, "hi"))


async def test_timeout_is_unreachable(fake_ollama: FakeOllama) -> None:
    fake_ollama.chat_delay_s = 1.0
    with pytest.raises(LLMUnreachable):
        await LLMClient(fake_ollama.host, timeout_s=0.2).chat("llama3.2:3b", system_and_user(None, "hi"))
