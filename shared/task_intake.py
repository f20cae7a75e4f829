"""Submitting a task: store its record, then enqueue the job that answers it.

The API and the motivator both come through here, so every task, whoever asked, has the same
record and the same path to the cognition worker. The record is written first; the job id is
derived from the task id, so submitting the same idempotency key twice, or retrying after a
crash between the two steps, enqueues at most one job.
"""

from __future__ import annotations

from arq.connections import ArqRedis

from shared.keys import JOB_ANSWER_TASK, QUEUE_COGNITION
from shared.queues import enqueue
from shared.stores.tasks import TaskRecord, TaskStatus, TaskStore


def answer_job_id(task_id: str) -> str:
    return f"task:{task_id}"


async def submit_task(
    redis: ArqRedis,
    store: TaskStore,
    record: TaskRecord,
    *,
    idempotency: tuple[str, str] | None = None,
) -> tuple[TaskRecord, bool]:
    """Create (or find, by idempotency key) the task and make sure its job is queued."""
    stored, created = await store.create(record, idempotency=idempotency)
    if stored.status == TaskStatus.QUEUED:
        await enqueue(redis, QUEUE_COGNITION, JOB_ANSWER_TASK, stored.id, idempotency_key=answer_job_id(stored.id))
    return stored, created
