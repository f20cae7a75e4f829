"""The LLM interface (chat, structured output, tools, embeddings, model management: list, pull, create,
show, delete) through the real ``ollama`` client against the Ollama-protocol test server."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pydantic import BaseModel

from shared.errors import LLMBadAnswer, LLMUnreachable
from shared.llm import LLMClient, PullProgress, system_and_user
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
    fake_ollama.queue("llama3.2:3b", Failure(500, "out of memory"), "   ", Failure(503, "shutting down"),
                      Failure(502, "bad gateway"))
    with pytest.raises(LLMBadAnswer, match="out of memory"):
        await llm.chat("llama3.2:3b", system_and_user(None, "hi"))
    with pytest.raises(LLMBadAnswer, match="empty"):
        await llm.chat("llama3.2:3b", system_and_user(None, "hi"))
    for status in ("503", "502"):  # no server there to answer: retried, never taken as the model's answer
        with pytest.raises(LLMUnreachable, match=status):
            await llm.chat("llama3.2:3b", system_and_user(None, "hi"))


async def test_timeout_is_unreachable(fake_ollama: FakeOllama) -> None:
    fake_ollama.chat_delay_s = 1.0
    with pytest.raises(LLMUnreachable):
        await LLMClient(fake_ollama.host, timeout_s=0.2).chat("llama3.2:3b", system_and_user(None, "hi"))


class Choice(BaseModel):
    pick: str


async def test_structured_output_reads_the_answer_with_the_one_parser(fake_ollama: FakeOllama) -> None:
    fake_ollama.queue("judge:1b", '```json\n{"pick": "A"}\n```', "[1]")
    llm = LLMClient(fake_ollama.host)
    assert await llm.chat_structured("judge:1b", system_and_user(None, "pick"), Choice) == Choice(pick="A")
    with pytest.raises(LLMBadAnswer, match="answer does not match Choice: expected a JSON object, got list"):
        await llm.chat_structured("judge:1b", system_and_user(None, "pick"), Choice)


async def test_embed_gives_one_vector_per_input(fake_ollama: FakeOllama) -> None:
    llm = LLMClient(fake_ollama.host)
    assert await llm.embed("llama3.2:3b", ["one", "two"]) == [[0.0, 1.0, 0.5], [0.0, 1.0, 0.5]]
    assert await llm.embed("llama3.2:3b", "alone") == [[0.0, 1.0, 0.5]]
    sent = [r["body"] for r in fake_ollama.requests if r["path"] == "/api/embed"]
    assert [b["input"] for b in sent] == [["one", "two"], ["alone"]] and sent[0]["model"] == "llama3.2:3b"
    with pytest.raises(LLMUnreachable):
        await LLMClient(f"http://127.0.0.1:{free_port()}").embed("llama3.2:3b", "x")


def _adapter_files(tmp_path: Path) -> list[Path]:
    config = tmp_path / "adapter_config.json"
    config.write_text('{"r": 8}')
    weights = tmp_path / "adapter_model.safetensors"
    weights.write_bytes(b"\x00weights" * 64)
    return [config, weights]


def _sha(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


async def test_a_model_is_created_from_a_base_plus_adapters_shown_and_deleted(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    llm = LLMClient(fake_ollama.host)
    files = _adapter_files(tmp_path)
    try:
        adapters = await llm.create_model("test-llm:create", "llama3.2:3b", files)
        assert adapters == {path.name: _sha(path) for path in files}
        assert {fake_ollama.blobs[d] for d in adapters.values()} == {p.read_bytes() for p in files}
        [create] = [r["body"] for r in fake_ollama.requests if r["path"] == "/api/create"]
        assert create == {**create, "model": "test-llm:create", "from": "llama3.2:3b", "adapters": adapters}

        shown = await llm.show_model("test-llm:create")
        assert shown.name == "test-llm:create" and shown.family == "llama"
        assert shown.modelfile.startswith("FROM llama3.2:3b\n") and all(d in shown.modelfile for d in adapters.values())
        assert (await llm.show_model("llama3.2:3b")).parameter_size == "3B"

        await llm.delete_model("test-llm:create")
        assert "test-llm:create" not in fake_ollama.models
        with pytest.raises(LLMBadAnswer, match=r"Ollama refused to show test-llm:create: HTTP 404 model .* not found"):
            await llm.show_model("test-llm:create")
        with pytest.raises(LLMBadAnswer, match="Ollama refused to delete test-llm:create: HTTP 404"):
            await llm.delete_model("test-llm:create")
    finally:
        fake_ollama.models.pop("test-llm:create", None)
        await llm.aclose()


async def test_model_management_errors_say_which_step_failed(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    llm = LLMClient(fake_ollama.host)
    files = _adapter_files(tmp_path)
    fake_ollama.fail_create = Failure(500, "no space left on device")
    with pytest.raises(LLMBadAnswer, match=r"^Ollama refused to create test-llm:full: HTTP 500 no space left on dev"):
        await llm.create_model("test-llm:full", "llama3.2:3b", files)
    fake_ollama.fail_create = None
    with pytest.raises(LLMBadAnswer, match="refused to create test-llm:orphan: HTTP 404 base model 'no-base:1'"):
        await llm.create_model("test-llm:orphan", "no-base:1", files)
    assert not {"test-llm:full", "test-llm:orphan"} & set(fake_ollama.models)
    nowhere = LLMClient(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(LLMUnreachable, match=r"^Ollama unreachable during upload adapter_config\.json: "):
        await nowhere.create_model("test-llm:x", "llama3.2:3b", files)
    with pytest.raises(LLMUnreachable, match="Ollama unreachable during show x"):
        await nowhere.show_model("x")
    with pytest.raises(LLMUnreachable, match="Ollama unreachable during delete x"):
        await nowhere.delete_model("x")


async def test_a_tag_is_created_from_a_base_without_adapters(fake_ollama: FakeOllama) -> None:
    llm = LLMClient(fake_ollama.host)
    try:
        assert await llm.create_model("test-llm:tag", "llama3.2:3b") == {}
        assert [r["path"] for r in fake_ollama.requests] == ["/api/create"]  # no blobs
        assert fake_ollama.requests[0]["body"] == {"model": "test-llm:tag", "from": "llama3.2:3b", "stream": False}
        assert (await llm.show_model("test-llm:tag")).modelfile == "FROM llama3.2:3b\n"
        assert "test-llm:tag" in await llm.list_models()
    finally:
        fake_ollama.models.pop("test-llm:tag", None)
        await llm.aclose()


async def test_a_pull_streams_its_progress_until_the_model_is_there(fake_ollama: FakeOllama) -> None:
    llm = LLMClient(fake_ollama.host)
    fake_ollama.registry["test-llm:pull"] = 4_000
    try:
        assert {"llama3.2:3b", "judge:1b"} <= set(await llm.list_models())
        progress = [part async for part in llm.pull_model("test-llm:pull")]
        assert [r["body"] for r in fake_ollama.requests if r["path"] == "/api/pull"] == [
            {"model": "test-llm:pull", "insecure": False, "stream": True}]
        assert progress[0] == PullProgress(status="pulling manifest")
        assert [p.status for p in progress[-3:]] == ["verifying sha256 digest", "writing manifest", "success"]
        digests = list(dict.fromkeys(p.digest for p in progress if p.digest))  # the weights, the parameters
        assert len(digests) == 2
        weights = [p for p in progress if p.digest == digests[0]]
        assert weights[0].status == f"pulling {digests[0][7:19]}" and weights[0].completed is None
        assert weights[-1].completed == weights[-1].total == 4_000
        assert [p.completed for p in weights[1:]] == sorted(p.completed or 0 for p in weights[1:])
        assert "test-llm:pull" in await llm.list_models()
    finally:
        fake_ollama.registry.pop("test-llm:pull", None)
        fake_ollama.models.pop("test-llm:pull", None)
        await llm.aclose()


async def test_pull_errors_say_what_the_server_said(fake_ollama: FakeOllama) -> None:
    llm = LLMClient(fake_ollama.host)
    fake_ollama.registry["test-llm:cut"] = 4_000
    try:
        with pytest.raises(LLMBadAnswer, match=r"^Ollama refused to pull nope:1: pull model manifest: file does not "
                                               r"exist$"):
            [part async for part in llm.pull_model("nope:1")]
        with pytest.raises(LLMBadAnswer, match=r"^Ollama refused to pull bad name: HTTP 400 invalid model name$"):
            [part async for part in llm.pull_model("bad name")]
        fake_ollama.fail_pull = Failure(500, "max retries exceeded: connection reset by peer")
        seen: list[PullProgress] = []
        with pytest.raises(LLMBadAnswer, match="refused to pull test-llm:cut: max retries exceeded"):
            async for part in llm.pull_model("test-llm:cut"):
                seen.append(part)
        assert seen[0].status == "pulling manifest" and seen[-1].digest  # what came before the error
        assert "test-llm:cut" not in fake_ollama.models
    finally:
        fake_ollama.registry.pop("test-llm:cut", None)
        await llm.aclose()
    nowhere = LLMClient(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(LLMUnreachable, match=r"^Ollama unreachable during pull x: "):
        [part async for part in nowhere.pull_model("x")]
    with pytest.raises(LLMUnreachable, match=r"^Ollama unreachable during list models: "):
        await nowhere.list_models()
