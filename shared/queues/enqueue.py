"""Every job reaches a queue through here: arq's job format, written by one Lua function.

``enqueue`` queues ``function(*args, **kwargs)`` on a worker kind's queue and wakes an idle
worker of that kind at once (``shared.queues.worker``). The job is serialised by arq's own
``serialize_job`` and stored exactly where ``ArqRedis.enqueue_job`` puts it (the job key with its
expiry, the queue's sorted set), so any arq worker takes it. The Lua function ``ENQUEUE_LUA``
is the one writer of that layout: ``enqueue`` runs it alone, and a store that must create its
record and the job in one atomic step (``TaskStore.create``, the task intake) runs it inside its
own script with a :class:`QueuedJob` from :func:`prepare_job`.

A job id is an idempotency key (formats in ``shared.keys``): while a job with that id is queued,
running or its result is kept, enqueueing it again writes nothing.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import Job, serialize_job

from shared.keys import queue_wakeup_channel
from shared.queues.serializer import json_deserializer, json_serializer

# enqueue_job(job key, result key, queue, job id, payload, score ms, expires ms, wake channel) -> 1 | 0
# enqueue_given(k, a): the job in KEYS[k..k+2] and ARGV[a..a+4] (``job_slots``), if there is one
ENQUEUE_LUA = """
local function enqueue_job(job_key, result_key, queue, job_id, payload, score_ms, expires_ms, wake_channel)
  if redis.call('EXISTS', job_key) == 1 or redis.call('EXISTS', result_key) == 1 then return 0 end
  redis.call('PSETEX', job_key, expires_ms, payload)
  redis.call('ZADD', queue, score_ms, job_id)
  redis.call('PUBLISH', wake_channel, '1')
  return 1
end
local function enqueue_given(k, a)
  if KEYS[k + 2] == '' then return 0 end
  return enqueue_job(KEYS[k], KEYS[k + 1], KEYS[k + 2], ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4])
end
"""
_ENQUEUE = ENQUEUE_LUA + "return enqueue_job(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])"


@dataclass(frozen=True)
class QueuedJob:
    """One arq job, serialised and ready for ``ENQUEUE_LUA`` (keys and arguments in its order)."""

    job_id: str
    queue: str
    payload: bytes
    score_ms: int
    expires_ms: int

    @property
    def keys(self) -> list[str]:
        return [job_key_prefix + self.job_id, result_key_prefix + self.job_id, self.queue]

    @property
    def args(self) -> list[Any]:
        return [self.job_id, self.payload, self.score_ms, self.expires_ms, queue_wakeup_channel(self.queue)]


def job_slots(job: QueuedJob | None) -> tuple[list[str], list[Any]]:
    """The keys and arguments ``enqueue_given`` reads for ``job``; empty ones (no job) for ``None``."""
    return (job.keys, job.args) if job is not None else (["", "", ""], ["", b"", 0, 0, ""])


def prepare_job(queue_name: str, function: str, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None,
                *, job_id: str | None = None, expires_ms: int) -> QueuedJob:
    """``function(*args, **kwargs)`` as arq would enqueue it now on ``queue_name``."""
    now_ms = int(time.time() * 1000)
    job_id = job_id or uuid.uuid4().hex
    payload = serialize_job(function, args, kwargs or {}, None, now_ms, serializer=json_serializer)
    return QueuedJob(job_id=job_id, queue=queue_name, payload=payload, score_ms=now_ms, expires_ms=expires_ms)


async def enqueue(
    redis: ArqRedis,
    queue_name: str,
    function: str,
    *args: Any,
    idempotency_key: str | None = None,
    _expires: float | None = None,
    **kwargs: Any,
) -> Job | None:
    """Queue ``function(*args, **kwargs)`` on ``queue_name``; ``None`` if that job id exists.

    ``idempotency_key`` becomes the arq job id. Callers that may enqueue twice (event handlers,
    retried requests) pass a key derived from what caused the job. ``_expires`` (seconds, as
    arq's) bounds how long the job may wait unrun; default arq's ``expires_extra_ms``.
    """
    expires_ms = int(_expires * 1000) if _expires is not None else redis.expires_extra_ms
    job = prepare_job(queue_name, function, args, kwargs, job_id=idempotency_key, expires_ms=expires_ms)
    if not await redis.register_script(_ENQUEUE)(keys=job.keys, args=job.args):
        return None
    return Job(job.job_id, redis, _queue_name=queue_name, _deserializer=json_deserializer)
