from __future__ import annotations

import asyncio

import pytest

from shared.errors import NotFound
from shared.keys import tasks_by_status
from shared.stores.status import RunStatus
from shared.stores.tasks import TaskRecord, TaskStore


async def test_create_get_update_list(redis) -> None:
    store = TaskStore(redis)
    a, created = await store.create(TaskRecord(text="first"))
    b, _ = await store.create(TaskRecord(text="second", source="motivator", caused_by="ev1"))
    assert created
    assert (await store.get(a.id)).text == "first"
    await store.update(a.id, status=RunStatus.SUCCEEDED, result={"response": "42"}, finished_at=1.0)
    done = await store.get(a.id)
    assert done.status == RunStatus.SUCCEEDED and done.result == {"response": "42"}
    assert [t.id for t in await store.list(RunStatus.QUEUED)] == [b.id]
    assert [t.id for t in await store.list(RunStatus.SUCCEEDED)] == [a.id]
    assert [t.id for t in await store.list()] == [b.id, a.id]
    assert await store.count() == 2


async def test_idempotent_create_returns_the_first_task(redis) -> None:
    store = TaskStore(redis)
    first, created1 = await store.create(TaskRecord(text="x"), idempotency=("motivator", "event-1"))
    again, created2 = await store.create(TaskRecord(text="x"), idempotency=("motivator", "event-1"))
    assert created1 and not created2
    assert again.id == first.id
    assert await store.count() == 1


async def test_missing_task_is_not_found(redis) -> None:
    with pytest.raises(NotFound):
        await TaskStore(redis).get("nope")


async def test_two_overlapping_updates_leave_the_task_in_one_status_index(redis) -> None:
    """Two runs of one task's job finishing at once (a claim lost while Redis was away): the
    record and the status indexes agree, whichever write lands last."""
    store = TaskStore(redis)
    for _ in range(30):
        task, _ = await store.create(TaskRecord(text="contested"))
        await store.update(task.id, status=RunStatus.RUNNING)
        await asyncio.gather(store.update(task.id, status=RunStatus.SUCCEEDED),
                             store.update(task.id, status=RunStatus.FAILED))
        final = (await store.get(task.id)).status
        indexed = [status for status in RunStatus if await redis.zscore(tasks_by_status(status), task.id) is not None]
        assert indexed == [final]
