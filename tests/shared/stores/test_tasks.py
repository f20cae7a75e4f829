from __future__ import annotations

import pytest

from shared.errors import NotFound
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
