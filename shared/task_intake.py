"""Submitting a task: its record and the job that answers it, written in one atomic step.

The API and the motivator both come through here, so every task, whoever asked, has the same
record and the same path to the cognition worker. ``TaskStore.create`` writes the record, its
idempotency key and the job (``shared.queues.prepare_job``, enqueued by the queue's own Lua
function) in one Lua call: no crash can leave a task without its job or a job without its task,
and a repeated idempotency key enqueues nothing.
"""

from __future__ import annotations

from arq.connections import ArqRedis

from shared.keys import JOB_ANSWER_TASK, QUEUE_COGNITION, answer_job_id
from shared.queues.enqueue import QueuedJob, prepare_job
from shared.stores.tasks import TaskRecord, TaskStore


def answer_job(task_id: str, expires_ms: int) -> QueuedJob:
    """The cognition job for one task, as arq would enqueue it."""
    return prepare_job(QUEUE_COGNITION, JOB_ANSWER_TASK, (task_id,), job_id=answer_job_id(task_id),
                       expires_ms=expires_ms)


async def submit_task(
    redis: ArqRedis,
    store: TaskStore,
    record: TaskRecord,
    *,
    idempotency: tuple[str, str] | None = None,
) -> tuple[TaskRecord, bool]:
    """Create (or find, by idempotency key) the task, its cognition job queued with it."""
    return await store.create(record, idempotency=idempotency,
                              job=answer_job(record.id, redis.expires_extra_ms))
