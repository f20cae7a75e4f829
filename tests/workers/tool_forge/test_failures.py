"""Forge failures: refusals before the sandbox, exhausted attempts, Ollama or Docker away.

These run without Docker on purpose: the sandbox given is one whose engine never answers, so a
job that reached it would be retried as ``sandbox unavailable`` instead of failing with the
refusal reasons asserted here.
"""

from __future__ import annotations

from shared.keys import EventType
from shared.stores.status import RunStatus
from shared.tools import ForgeJobStore, ToolRegistry, ToolSpec, submit_tool_spec
from tests.services.motivator.conftest import journal
from tests.support.fake_ollama import Failure, FakeOllama
from tests.support.redis_server import free_port
from tests.support.sandbox import unreachable_sandbox
from tests.support.tool_sources import FORBIDDEN_IMPORT, TWO_FUNCTIONS, WORD_COUNT, fenced
from tests.workers.tool_forge.conftest import BRICK_MODEL, run_forge

SPEC = ToolSpec(description="List the files in a folder.")
OTHER = ToolSpec(description="Count the words in a text.")


async def test_refusals_are_fed_back_and_exhausted_attempts_fail_the_job(redis, forge_settings,
                                                                        fake_ollama: FakeOllama) -> None:
    answers = {  # per spec, BRICK's answer to attempt 1, 2, 3
        SPEC.description: [fenced(FORBIDDEN_IMPORT), TWO_FUNCTIONS, "I would rather not."],
        OTHER.description: [Failure(500, "model crashed"),
                            fenced(WORD_COUNT.replace("def word_count", "def _wc")), "def broken(:"],
    }

    def brick(body: dict) -> object:
        spec = next(d for d in answers if d in body["messages"][1]["content"])
        return answers[spec][sum(m["role"] == "assistant" for m in body["messages"])]

    fake_ollama.on_chat(brick)
    first, _ = await submit_tool_spec(redis, SPEC)
    second, _ = await submit_tool_spec(redis, OTHER)
    worker = await run_forge(forge_settings, sandbox=unreachable_sandbox())
    assert (worker.jobs_complete, worker.jobs_failed, worker.jobs_retried) == (2, 0, 0)  # the worker carries on

    chats = [c for c in fake_ollama.chats(BRICK_MODEL) if SPEC.description in c["messages"][1]["content"]]
    assert len(fake_ollama.chats(BRICK_MODEL)) == 6 and len(chats) == 3  # three attempts per job, as the seed
    assert "import of 'os' is not allowed" in chats[1]["messages"][-1]["content"]
    assert "2 public functions (add, sub)" in chats[2]["messages"][-1]["content"]

    jobs = ForgeJobStore(redis)
    one, two = await jobs.get(first.id), await jobs.get(second.id)
    assert one.status is RunStatus.FAILED and two.status is RunStatus.FAILED
    assert [(a.outcome, a.reason.split(":")[0]) for a in one.attempts] == [
        ("refused", "refused before running"), ("refused", "refused before running"),
        ("refused", "refused before running")]
    assert "no Python code found" in one.attempts[2].reason  # prose only
    assert "no public function found" in two.attempts[1].reason
    assert [a.outcome for a in two.attempts] == ["llm_error", "refused", "refused"]
    assert "HTTP 500" in two.attempts[0].reason and "syntax error" in two.attempts[2].reason
    assert one.error is not None and "no attempt passed (3 made)" in one.error
    assert await ToolRegistry(redis).count() == 0

    failed = await journal(redis, EventType.TOOL_FORGE_FAILED)
    assert sorted(e.data["job_id"] for e in failed) == sorted([first.id, second.id])
    failed.sort(key=lambda e: e.data["job_id"] != first.id)
    assert [a["outcome"] for a in failed[0].data["attempts"]] == ["refused"] * 3
    assert not await journal(redis, EventType.TOOL_CREATED)


async def test_an_unreachable_sandbox_is_retried_then_fails_without_using_attempts(
        redis, forge_settings, fake_ollama: FakeOllama) -> None:
    fake_ollama.on_chat(lambda _body: fenced(WORD_COUNT))
    settings = forge_settings.model_copy(update={"forge_transient_tries": 2})
    job, _ = await submit_tool_spec(redis, SPEC)
    worker = await run_forge(settings, sandbox=unreachable_sandbox())
    assert worker.jobs_retried == 1 and worker.jobs_complete == 1
    record = await ForgeJobStore(redis).get(job.id)
    assert record.status is RunStatus.FAILED and record.attempts == []
    assert record.error is not None and record.error.startswith("SandboxUnavailable after 2 tries")


async def test_an_unreachable_ollama_is_retried_then_fails(redis, forge_settings) -> None:
    settings = forge_settings.model_copy(update={"ollama_host": f"http://127.0.0.1:{free_port()}",
                                                 "forge_transient_tries": 2})
    job, _ = await submit_tool_spec(redis, SPEC)
    await run_forge(settings, sandbox=unreachable_sandbox())
    record = await ForgeJobStore(redis).get(job.id)
    assert record.status is RunStatus.FAILED and "LLMUnreachable after 2 tries" in (record.error or "")
    assert [e.data["job_id"] for e in await journal(redis, EventType.TOOL_FORGE_FAILED)] == [job.id]


async def test_a_finished_job_run_again_only_re_announces(redis, forge_settings, fake_ollama: FakeOllama) -> None:
    jobs = ForgeJobStore(redis)
    job, _ = await submit_tool_spec(redis, SPEC)
    await jobs.update(job.id, status=RunStatus.SUCCEEDED, tool_name="word_count", version=3)
    await run_forge(forge_settings, sandbox=unreachable_sandbox())
    assert not fake_ollama.chats()
    [event] = await journal(redis, EventType.TOOL_CREATED)
    assert (event.data["tool_name"], event.data["version"]) == ("word_count", 3)
