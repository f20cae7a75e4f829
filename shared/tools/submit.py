"""Submitting a tool spec: the forge job record first, then its job on the tool-forge queue.

The API (and any service that wants a tool) comes through here. The record is created once
per job id; a repeated idempotency key maps to the same job id and finds that record. A record
still ``queued`` is (re-)enqueued under an arq job id derived from it, which arq deduplicates,
so a crash between the two writes heals on the next submission of the same key.
"""

from __future__ import annotations

import hashlib
import uuid

from redis.asyncio import Redis

from shared.keys import JOB_CREATE_TOOL, QUEUE_TOOL_FORGE, forge_queue_job_id
from shared.queues import enqueue
from shared.stores.status import RunStatus
from shared.tools.jobs import ForgeJob, ForgeJobStore, ToolSpec


def forge_job_id(idempotency_key: str | None = None) -> str:
    """A fresh id, or one derived from an idempotency key (same key, same job)."""
    if idempotency_key is None:
        return uuid.uuid4().hex
    return hashlib.sha256(f"forge:{idempotency_key}".encode()).hexdigest()[:32]


async def submit_tool_spec(redis: Redis, spec: ToolSpec, *, idempotency_key: str | None = None,
                           ) -> tuple[ForgeJob, bool]:
    """Record and enqueue a forge job; returns it and whether this call created it."""
    job, created = await ForgeJobStore(redis).create(ForgeJob(id=forge_job_id(idempotency_key), spec=spec))
    if job.status is RunStatus.QUEUED:
        await enqueue(redis, QUEUE_TOOL_FORGE, JOB_CREATE_TOOL, job.spec.model_dump(mode="json"),
                      job_id=job.id, idempotency_key=forge_queue_job_id(job.id))
    return job, created
