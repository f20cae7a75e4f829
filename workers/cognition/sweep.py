"""Fail tasks whose job is gone while their record is not finished.

arq runs a job again when the worker running it died, up to ``max_tries``; after that it drops
the job without calling our code, so the task record would say ``running`` (or ``queued``, when
the last try had handed it back for a retry) for ever; a job that waited unrun past its expiry
is dropped the same way. This sweep (``shared.queues.sweeps``: one run per round across all
cognition workers) finds such records: status ``running`` or ``queued``, and neither the arq job
nor its in-progress key exists. A task is created together with its job (``shared.task_intake``)
and the job function writes the final record before arq deletes the job, so such a task can
never finish; it is marked failed with the reason and ``task_failed`` is published.
"""

from __future__ import annotations

import time

import structlog
from arq.connections import ArqRedis

from shared.events import EventBus
from shared.keys import answer_job_id
from shared.queues.jobs import job_in_flight
from shared.stores.status import RunStatus
from shared.stores.tasks import TaskStore
from workers.cognition.outcome import announce

log = structlog.get_logger(__name__)
ABANDONED = ("abandoned: its job ended without finishing the task (the worker died on every try, "
             "or it expired unrun)")


async def fail_abandoned_tasks(redis: ArqRedis, tasks: TaskStore, bus: EventBus, threshold: float,
                               batch: int = 500) -> int:
    """Mark every abandoned running or queued task failed; returns how many."""
    failed = 0
    unfinished = [*await tasks.list(RunStatus.RUNNING, limit=batch), *await tasks.list(RunStatus.QUEUED, limit=batch)]
    for task in unfinished:
        if await job_in_flight(redis, answer_job_id(task.id)):
            continue
        current = await tasks.get(task.id)
        if current.status not in (RunStatus.RUNNING, RunStatus.QUEUED):
            continue  # finished meanwhile
        record = await tasks.update(task.id, status=RunStatus.FAILED, error=ABANDONED, finished_at=time.time())
        await announce(bus, record, threshold)
        log.warning("abandoned task failed", task_id=task.id)
        failed += 1
    return failed
