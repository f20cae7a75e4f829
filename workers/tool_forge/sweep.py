"""Fail forge jobs whose arq job is gone while their record still says ``running``.

As for tasks (``workers/cognition/sweep.py``): arq re-runs the job of a worker that died, up to
its tries, then drops it without calling our code. This sweep (``shared.queues.sweeps``, one run per round
across forge workers) fails such records, running with neither their arq job nor its
in-progress key left, and announces ``tool_forge_failed``.
"""

from __future__ import annotations

import structlog
from arq.connections import ArqRedis

from shared.errors import NotFound
from shared.queues.jobs import job_in_flight
from shared.stores.status import RunStatus
from workers.tool_forge.forge import ToolForge

log = structlog.get_logger(__name__)
ABANDONED = "abandoned: its job ended without finishing (the worker died on every try)"


async def fail_abandoned_forge_jobs(redis: ArqRedis, forge: ToolForge, batch: int = 500) -> int:
    """Mark every abandoned running forge job failed; returns how many."""
    failed = 0
    for job_id in await forge.jobs.running(batch):
        try:
            job = await forge.jobs.get(job_id)
        except NotFound:
            await forge.jobs.forget_running(job_id)  # its record expired or was deleted
            continue
        if job.status is not RunStatus.RUNNING or job.queue_job_id is None:
            await forge.jobs.forget_running(job_id)  # stale index entry: nothing to sweep
            continue
        if await job_in_flight(redis, job.queue_job_id):
            continue
        if (await forge.jobs.get(job_id)).status is not RunStatus.RUNNING:
            continue  # finished meanwhile
        await forge.fail_abandoned(job_id, ABANDONED)
        log.warning("abandoned forge job failed", forge_job_id=job_id)
        failed += 1
    return failed
