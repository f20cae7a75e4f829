"""Tool ideas: at most one forge job per period across replicas, rotating through the ideas."""

from __future__ import annotations

import asyncio

from services.motivator.tool_ideas import TOOL_IDEAS, ToolIdeas
from shared.errors import NotFound
from shared.keys import MOTIVATOR_FORGE_TIMER, QUEUE_TOOL_FORGE
from shared.tools import forge_job_id
from shared.tools.jobs import ForgeJobStore


async def forge_jobs(redis, up_to: int = 5) -> list:
    """The forge jobs of the first ``up_to`` ideas that exist."""
    found = []
    for number in range(1, up_to + 1):
        try:
            found.append(await ForgeJobStore(redis).get(forge_job_id(f"motivator-tool:{number}")))
        except NotFound:
            pass
    return found


async def test_one_idea_per_period_however_many_replicas(redis) -> None:
    replicas = [ToolIdeas(redis, every_s=3600) for _ in range(4)]
    submitted = await asyncio.gather(*(r.maybe_submit() for r in replicas))
    assert [s for s in submitted if s is not None] == [TOOL_IDEAS[0]]
    [job] = await forge_jobs(redis)
    assert job.spec == TOOL_IDEAS[0] and job.status == "queued"
    assert await redis.zcard(QUEUE_TOOL_FORGE) == 1
    assert await replicas[0].maybe_submit() is None  # same period

    await redis.delete(MOTIVATOR_FORGE_TIMER)  # the period is over
    assert await replicas[3].maybe_submit() == TOOL_IDEAS[1]
    assert {j.spec.name for j in await forge_jobs(redis)} == {TOOL_IDEAS[0].name, TOOL_IDEAS[1].name}


async def test_off_when_every_s_is_zero(redis) -> None:
    assert await ToolIdeas(redis, every_s=0).maybe_submit() is None
    assert await forge_jobs(redis) == []
