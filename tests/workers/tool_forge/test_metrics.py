"""A forge job in the metrics: BRICK's calls, the sandbox runs of its tests, the job's outcome."""

from __future__ import annotations

import pytest

from shared.keys import JOB_CREATE_TOOL
from shared.sandbox.result import Reason
from shared.tools import ToolSpec, submit_tool_spec
from tests.support.fake_ollama import FakeOllama
from tests.support.metrics import sample
from tests.support.tool_sources import WORD_COUNT, WORD_COUNT_BUGGY, fenced
from tests.workers.tool_forge.conftest import BRICK_MODEL, run_forge

pytestmark = pytest.mark.docker


async def test_a_forge_job_is_measured(redis, forge_settings, fake_ollama: FakeOllama, sandbox) -> None:
    def counts() -> tuple[float, ...]:
        return (sample("batos_llm_call_seconds_count", model=BRICK_MODEL, persona="BRICK", outcome="ok"),
                sample("batos_sandbox_runs_total", reason=Reason.ERROR.value),
                sample("batos_sandbox_runs_total", reason=Reason.OK.value),
                sample("batos_jobs_total", worker="tool_forge", job=JOB_CREATE_TOOL, outcome="done"))

    before = counts()
    fake_ollama.queue(BRICK_MODEL, fenced(WORD_COUNT_BUGGY), fenced(WORD_COUNT, "Fixed the off-by-one."))
    await submit_tool_spec(redis, ToolSpec(description="Count the words in a text."))
    await run_forge(forge_settings, sandbox=sandbox)
    # two attempts by BRICK; the buggy one's tests fail in the sandbox, the fixed one's pass
    assert tuple(now - then for now, then in zip(counts(), before, strict=True)) == (2, 1, 1, 1)
