"""Submitting a tool spec: the forge job record and its job on the tool-forge queue, in one step.

The API (and any service that wants a tool) comes through here. The record is created once per
job id, together with its queue job (one Lua call: no crash leaves a record without its job); a
repeated idempotency key maps to the same job id and finds that record. A record found still
``queued`` is enqueued again under the same arq job id, which is written only if no such job
exists: a job that expired unrun is queued again by the next submission of the same key.
"""

from __future__ import annotations

import hashlib
import uuid

from arq.connections import ArqRedis

from shared.keys import JOB_CREATE_TOOL, QUEUE_TOOL_FORGE, forge_queue_job_id
from shared.queues import enqueue
from shared.queues.enqueue import prepare_job
from shared.stores.status import RunStatus
from shared.tools.jobs import ForgeJob, ForgeJobStore, ToolSpec


def forge_job_id(idempotency_key: str | None = None) -> str:
    """A fresh id, or one derived from an idempotency key (same key, same job)."""
    if idempotency_key is None:
        return uuid.uuid4().hex
    return hashlib.sha256(f"forge:{idempotency_key}".encode()).hexdigest()[:32]


async def submit_tool_spec(redis: ArqRedis, spec: ToolSpec, *, idempotency_key: str | None = None,
                           ) -> tuple[ForgeJob, bool]:
    """Record and enqueue a forge job; returns it and whether this call created it."""
    record = ForgeJob(id=forge_job_id(idempotency_key), spec=spec)
    queued = prepare_job(QUEUE_TOOL_FORGE, JOB_CREATE_TOOL, (spec.model_dump(mode="json"),), {"job_id": record.id},
                         job_id=forge_queue_job_id(record.id), expires_ms=redis.expires_extra_ms)
    job, created = await ForgeJobStore(redis).create(record, queued)
    if not created and job.status is RunStatus.QUEUED:
        await enqueue(redis, QUEUE_TOOL_FORGE, JOB_CREATE_TOOL, job.spec.model_dump(mode="json"),
                      job_id=job.id, idempotency_key=forge_queue_job_id(job.id))
    return job, created
