"""``queue_stats``: depth and the oldest waiting job of each queue, read from real Redis."""

from __future__ import annotations

import asyncio

from arq.constants import in_progress_key_prefix

from shared.queues import enqueue
from shared.queues.stats import queue_stats

QUEUE = "batos:queue:test-stats"
OTHER = "batos:queue:test-stats-other"


async def test_depth_counts_every_job_and_the_age_is_the_oldest_unclaimed_due_one(redis) -> None:
    for n in range(3):
        await enqueue(redis, QUEUE, "work", n, idempotency_key=f"stats-{n}")
        await asyncio.sleep(0.05)
    later = await redis.zscore(QUEUE, "stats-2")
    await redis.zadd(QUEUE, {"stats-deferred": later + 3_600_000})  # deferred an hour: in the depth, never due
    await redis.set(in_progress_key_prefix + "stats-0", b"1")  # the oldest is running on some worker
    now_ms = int(later) + 1_000
    first = await redis.zscore(QUEUE, "stats-1")

    [stat, other] = await queue_stats(redis, [QUEUE, OTHER], now_ms=now_ms)

    assert (stat.queue, stat.depth, stat.running) == (QUEUE, 4, 1)
    assert stat.oldest_age_s == round((now_ms - first) / 1000, 3)  # stats-1: the oldest that waits
    assert (other.queue, other.depth, other.running, other.oldest_age_s) == (OTHER, 0, 0, 0.0)


async def test_a_queue_whose_due_jobs_all_run_has_nobody_waiting(redis) -> None:
    await enqueue(redis, QUEUE, "work", 1, idempotency_key="stats-running")
    await redis.set(in_progress_key_prefix + "stats-running", b"1")
    [stat] = await queue_stats(redis, [QUEUE])
    assert (stat.depth, stat.running, stat.oldest_age_s) == (1, 1, 0.0)
    assert await queue_stats(redis, []) == []
