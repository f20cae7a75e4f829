"""Fail fine-tunes whose job is gone while their record is not finished.

A worker killed mid-job has its job run again by arq, up to ``fine_tune_max_tries``; after that
arq drops the job without calling our code and the record would stay ``training`` for ever.
This sweep (``shared.queues.sweeps``: one run per round across fine-tune workers) fails such records:
not terminal, their job id known, and neither the arq job nor its in-progress key exists. The
persona keeps its model and the dataset version stays re-runnable (``POST /v1/fine-tunes``).
"""

from __future__ import annotations

import structlog
from arq.connections import ArqRedis

from shared.events import EventBus
from shared.queues.jobs import job_in_flight
from shared.stores.fine_tunes import FineTuneStore
from workers.fine_tune import swap

log = structlog.get_logger(__name__)
ABANDONED = "abandoned: its job ended without finishing (the worker died on every try, or it expired unrun)"


async def fail_abandoned_fine_tunes(redis: ArqRedis, store: FineTuneStore, bus: EventBus, batch: int = 200) -> int:
    """Mark every abandoned fine-tune failed; returns how many."""
    failed = 0
    for record in await store.list(limit=batch):
        if record.terminal or record.job_id is None:
            continue
        if await job_in_flight(redis, record.job_id):
            continue
        if (await store.get(record.id)).terminal:
            continue  # finished meanwhile
        await swap.fail(store, bus, record, ABANDONED)
        failed += 1
    return failed
