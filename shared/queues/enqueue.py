"""Enqueue a job on a worker kind's queue and wake an idle worker of that kind at once."""

from __future__ import annotations

from typing import Any

from arq.connections import ArqRedis
from arq.jobs import Job

from shared.keys import queue_wakeup_channel


async def enqueue(
    redis: ArqRedis,
    queue_name: str,
    function: str,
    *args: Any,
    idempotency_key: str | None = None,
    **kwargs: Any,
) -> Job | None:
    """Queue ``function(*args, **kwargs)`` on ``queue_name``.

    ``idempotency_key`` becomes the arq job id: while a job with that id is queued, running or
    its result is kept, enqueueing it again does nothing and returns ``None``. Callers that
    may enqueue twice (event handlers, retried requests) pass a key derived from what caused
    the job.
    """
    job = await redis.enqueue_job(function, *args, _job_id=idempotency_key, _queue_name=queue_name, **kwargs)
    if job is not None:
        await redis.publish(queue_wakeup_channel(queue_name), b"1")
    return job
