"""Forge job records and spec submission: created once, enqueued once per idempotency key."""

from __future__ import annotations

import pytest
from arq.jobs import Job

from shared.errors import NotFound
from shared.keys import QUEUE_TOOL_FORGE, forge_queue_job_id
from shared.queues import json_deserializer
from shared.stores.status import RunStatus
from shared.tools import Attempt, ForgeJob, ForgeJobStore, ToolSpec, submit_tool_spec


async def test_create_once_then_update_and_attempts(redis) -> None:
    store = ForgeJobStore(redis)
    job, created = await store.create(ForgeJob(id="j1", spec=ToolSpec(description="count words")))
    assert created and job.status is RunStatus.QUEUED
    again, created = await store.create(ForgeJob(id="j1", spec=ToolSpec(description="something else")))
    assert not created and again.spec.description == "count words"
    await store.add_attempt("j1", Attempt(number=1, outcome="refused", reason="no function"))
    await store.add_attempt("j1", Attempt(number=2, outcome="passed"))
    await store.update("j1", status=RunStatus.SUCCEEDED, tool_name="word_count", version=1)
    stored = await store.get("j1")
    assert [(a.number, a.outcome, a.reason) for a in stored.attempts] == [(1, "refused", "no function"),
                                                                          (2, "passed", "")]
    assert (stored.status, stored.tool_name, stored.version) == (RunStatus.SUCCEEDED, "word_count", 1)


async def test_updates_keep_the_running_index_and_never_revive_a_record_that_is_gone(redis) -> None:
    store = ForgeJobStore(redis)
    await store.create(ForgeJob(id="j2", spec=ToolSpec(description="count words")))
    await store.update("j2", status=RunStatus.RUNNING)
    assert await store.running() == ["j2"]
    await store.update("j2", error="retrying")  # no status: the index is left as it is
    assert await store.running() == ["j2"]
    await store.update("j2", status=RunStatus.FAILED, error="no")
    assert await store.running() == []
    await redis.flushall()
    with pytest.raises(NotFound):
        await store.update("j2", status=RunStatus.RUNNING)
    assert await redis.keys("*") == []  # neither a partial record nor an index entry


async def test_submission_with_a_key_is_idempotent(redis) -> None:
    spec = ToolSpec(description="count words", name="word_count")
    first, created = await submit_tool_spec(redis, spec, idempotency_key="k-1")
    second, created_again = await submit_tool_spec(redis, spec, idempotency_key="k-1")
    other, _ = await submit_tool_spec(redis, spec)
    assert created and not created_again and first.id == second.id != other.id
    assert await redis.zcard(QUEUE_TOOL_FORGE) == 2
    info = await Job(forge_queue_job_id(first.id), redis, _queue_name=QUEUE_TOOL_FORGE,
                     _deserializer=json_deserializer).info()
    assert info is not None and info.kwargs == {"job_id": first.id}
    assert info.args == [{"description": "count words", "name": "word_count"}]
