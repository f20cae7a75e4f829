"""A tool-forge worker SIGKILLed in the first second of a job (before any lease renewal): the job
runs again within the lease and the tool is registered once."""

from __future__ import annotations

import time

import pytest

from shared.keys import EventType
from shared.stores.status import RunStatus
from shared.tools import ForgeJobStore, ToolRegistry, ToolSpec, submit_tool_spec
from tests.chaos.conftest import LEASE_S
from tests.chaos.replicas import Replicas
from tests.services.motivator.conftest import journal
from tests.support.eventually import eventually
from tests.support.fake_ollama import FakeOllama
from tests.support.tool_sources import WORD_COUNT, fenced
from tests.workers.tool_forge.conftest import BRICK_MODEL

pytestmark = [pytest.mark.chaos, pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(300)]

SPEC = ToolSpec(description="Count the words in a text, optionally ignoring short words.")


async def test_a_forge_killed_at_the_start_of_a_job_is_replaced_within_its_lease(
        redis, fake_ollama: FakeOllama, chaos_env: dict[str, str]) -> None:
    fake_ollama.on_chat(lambda body: fenced(WORD_COUNT))
    fake_ollama.chat_delay_s = 2.0  # BRICK is still writing when the worker dies
    forge = Replicas("workers.tool_forge", {**chaos_env, "BATOS_SANDBOX_TIMEOUT_S": "10"}, count=1, name="forge")
    await forge.start()
    jobs = ForgeJobStore(redis)
    try:
        job, _ = await submit_tool_spec(redis, SPEC)

        async def brick_asked() -> bool:
            return bool(fake_ollama.chats(BRICK_MODEL))

        await eventually(brick_asked, within_s=60, every=0.05)
        await forge.kill_one()  # its replacement starts at once, as a restart policy does
        killed_at = forge.kills[-1]

        async def succeeded() -> float | None:
            return time.time() if (await jobs.get(job.id)).status == RunStatus.SUCCEEDED else None

        done_at = await eventually(succeeded, within_s=120, every=0.1)
        assert forge.all_alive(), forge.output()
    finally:
        forge.stop()
    recovered_in = done_at - killed_at
    print(f"\nforge killed at the start of a job: succeeded {recovered_in:.1f} s after the kill (lease {LEASE_S} s)")
    assert recovered_in < LEASE_S + 60  # production: within the 60 s lease, not the 15-minute job timeout
    assert len(fake_ollama.chats(BRICK_MODEL)) == 2  # the killed attempt, then the re-run
    assert [v.version for v in await ToolRegistry(redis).versions("word_count")] == [1]
    assert [e.data["version"] for e in await journal(redis, EventType.TOOL_CREATED)] == [1]
