"""The forge end to end: BRICK (the fake Ollama) writes, the real sandbox tests, the registry keeps."""

from __future__ import annotations

import pytest

from services.motivator.service import Motivator
from services.motivator.settings import MotivatorSettings
from shared.events import EventBus
from shared.keys import EventType
from shared.stores.status import RunStatus
from shared.tools import ForgeJobStore, ToolRegistry, ToolSpec, submit_tool_spec
from tests.services.motivator.conftest import group_ready, journal, motivator_tasks
from tests.support.eventually import eventually
from tests.support.fake_ollama import FakeOllama
from tests.support.tool_sources import WORD_COUNT, WORD_COUNT_BUGGY, fenced
from tests.workers.tool_forge.conftest import BRICK_MODEL, run_forge

SPEC = ToolSpec(description="Count the words in a text, optionally ignoring short words.")

pytestmark = pytest.mark.docker


async def test_failed_tests_are_fed_back_and_the_fixed_tool_is_registered(
        redis, forge_settings, fake_ollama: FakeOllama, sandbox) -> None:
    motivator = Motivator(redis, EventBus(redis, "motivator-test"),
                          MotivatorSettings(redis_url=forge_settings.redis_url, environment="test"))
    motivator.subscribe()
    await motivator.bus.start()
    try:
        await eventually(lambda: group_ready(redis, EventType.TOOL_CREATED))
        fake_ollama.queue(BRICK_MODEL, fenced(WORD_COUNT_BUGGY), fenced(WORD_COUNT, "Fixed the off-by-one."))
        job, _ = await submit_tool_spec(redis, SPEC)
        worker = await run_forge(forge_settings, sandbox=sandbox)
        assert (worker.jobs_complete, worker.jobs_failed) == (1, 0)

        first_prompt, second_prompt = fake_ollama.chats(BRICK_MODEL)
        assert first_prompt["messages"][0]["content"].startswith("You are BRICK")
        assert SPEC.description in first_prompt["messages"][1]["content"]
        feedback = second_prompt["messages"][-1]["content"]
        assert "Attempt 1 failed: the tests failed in the sandbox (exit code 1)" in feedback
        assert "AssertionError" in feedback  # the traceback from the sandbox reaches BRICK
        assert second_prompt["messages"][-2] == {"role": "assistant",
                                                 "content": f"```python\n{WORD_COUNT_BUGGY.strip()}\n```"}

        record = await ForgeJobStore(redis).get(job.id)
        assert (record.status, record.tool_name, record.version) == (RunStatus.SUCCEEDED, "word_count", 1)
        assert [a.outcome for a in record.attempts] == ["tests_failed", "passed"]
        assert "AssertionError" in record.attempts[0].reason and record.attempts[1].reason == ""

        tool = await ToolRegistry(redis).get("word_count")
        assert tool.source == WORD_COUNT.strip("\n") and tool.forge_job_id == job.id
        assert "all tests passed" in tool.test_output

        [event] = await journal(redis, EventType.TOOL_CREATED)
        assert event.data["tool_name"] == "word_count" and event.data["version"] == 1
        [curiosity] = await eventually(lambda: motivator_tasks(redis))
        assert "'word_count' (version 1)" in curiosity.text
    finally:
        await motivator.bus.stop()


async def test_the_same_name_again_is_a_new_version(redis, forge_settings, fake_ollama: FakeOllama,
                                                    sandbox) -> None:
    fake_ollama.queue(BRICK_MODEL, fenced(WORD_COUNT), fenced(WORD_COUNT))
    await submit_tool_spec(redis, SPEC)
    await submit_tool_spec(redis, SPEC.model_copy(update={"name": "word_count"}))
    await run_forge(forge_settings, sandbox=sandbox)
    assert [v.version for v in await ToolRegistry(redis).versions("word_count")] == [1, 2]
    assert [e.data["version"] for e in await journal(redis, EventType.TOOL_CREATED)] == [1, 2]
