"""Tasks whose job arq dropped (the worker died on every try) are failed, not left running."""

from __future__ import annotations

from arq.constants import in_progress_key_prefix, job_key_prefix

from shared.events import EventBus
from shared.keys import answer_job_id, event_journal
from shared.stores.status import RunStatus
from shared.stores.tasks import TaskRecord, TaskStore
from shared.task_intake import submit_task
from workers.cognition.sweep import ABANDONED, fail_abandoned_tasks


async def running_task(redis, store: TaskStore, text: str) -> TaskRecord:
    task, _ = await submit_task(redis, store, TaskRecord(text=text))
    return await store.update(task.id, status=RunStatus.RUNNING, started_at=1.0)


async def test_only_a_running_task_without_its_job_is_failed(redis) -> None:
    store, bus = TaskStore(redis), EventBus(redis, source="test")
    abandoned = await running_task(redis, store, "abandoned")
    await redis.delete(job_key_prefix + answer_job_id(abandoned.id))  # what arq does after max_tries
    in_progress = await running_task(redis, store, "being answered")
    await redis.delete(job_key_prefix + answer_job_id(in_progress.id))
    await redis.set(in_progress_key_prefix + answer_job_id(in_progress.id), b"1")
    retrying = await running_task(redis, store, "queued for another try")  # its job key is still there

    assert await fail_abandoned_tasks(redis, store, bus, threshold=0.7) == 1
    failed = await store.get(abandoned.id)
    assert failed.status == RunStatus.FAILED and failed.error == ABANDONED and failed.finished_at
    assert (await store.get(in_progress.id)).status == RunStatus.RUNNING
    assert (await store.get(retrying.id)).status == RunStatus.RUNNING
    journal = await redis.xrange(event_journal("task_failed"))
    assert len(journal) == 1 and abandoned.id.encode() in journal[0][1][b"envelope"]
    assert await fail_abandoned_tasks(redis, store, bus, threshold=0.7) == 0  # nothing left to sweep


async def test_a_queued_task_whose_job_is_gone_is_failed_and_a_waiting_one_is_not(redis) -> None:
    """Handed back for a retry, then its worker died on every try; or its job expired unrun."""
    store, bus = TaskStore(redis), EventBus(redis, source="test")
    dropped, _ = await submit_task(redis, store, TaskRecord(text="dropped"))
    await store.update(dropped.id, error="retrying: the LLM server is away")
    await redis.delete(job_key_prefix + answer_job_id(dropped.id))
    waiting, _ = await submit_task(redis, store, TaskRecord(text="waits its turn"))

    assert await fail_abandoned_tasks(redis, store, bus, threshold=0.7) == 1
    failed = await store.get(dropped.id)
    assert failed.status == RunStatus.FAILED and failed.error == ABANDONED
    assert (await store.get(waiting.id)).status == RunStatus.QUEUED
