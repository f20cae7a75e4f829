"""Submitting a task: its record and the job that answers it, written in one atomic step.

The API and the motivator both come through here, so every task, whoever asked, has the same
record and the same path to the cognition worker. The record, its idempotency key and the arq
job are written by one Lua script (``TaskStore.create``): no crash can leave a task without its
job or a job without its task, and a repeated idempotency key enqueues nothing. The job is
serialised by arq's own ``serialize_job`` and stored exactly where ``ArqRedis.enqueue_job``
would put it (job key, queue zset), so an arq worker takes it like any other.
"""

from __future__ import annotations

import time

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job

from shared.keys import JOB_ANSWER_TASK, QUEUE_COGNITION, queue_wakeup_channel
from shared.queues.serializer import json_serializer
from shared.stores.tasks import QueuedJob, TaskRecord, TaskStore


def answer_job_id(task_id: str) -> str:
    return f"task:{task_id}"


def answer_job(task_id: str, expires_extra_ms: int) -> QueuedJob:
    """The cognition job for one task, as arq would enqueue it."""
    now_ms = int(time.time() * 1000)
    job_id = answer_job_id(task_id)
    return QueuedJob(
        job_id=job_id,
        job_key=job_key_prefix + job_id,
        result_key=result_key_prefix + job_id,
        queue=QUEUE_COGNITION,
        payload=serialize_job(JOB_ANSWER_TASK, (task_id,), {}, None, now_ms, serializer=json_serializer),
        score_ms=now_ms,
        expires_ms=expires_extra_ms,
        wake_channel=queue_wakeup_channel(QUEUE_COGNITION),
    )


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
