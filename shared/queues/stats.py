"""How full each queue is and how long its oldest job has waited, read from Redis at once.

``queue_stats(redis, queues)`` is what the queue gauges show (``shared.metrics.record_queue_stats``):
a worker reads its own queue once per health-check interval; the API may read every queue when
``/metrics`` is scraped. Two round trips for any number of queues, bounded work each:

1. ``ZCARD`` (the depth: every job in the queue, as arq keeps it there while it runs) and the
   first ``LOOK_AHEAD`` due ids with their scores (``ZRANGEBYSCORE -inf now LIMIT``);
2. whether each of those is claimed (arq's in-progress key): the oldest due job that no worker
   holds is the one that waits. A job running for an hour is not "waiting for an hour".
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from arq.constants import in_progress_key_prefix
from redis.asyncio import Redis

from shared.redis_values import as_text

LOOK_AHEAD = 100  # due jobs examined per queue for the oldest unclaimed one (more than run at once)


@dataclass(frozen=True)
class QueueStat:
    queue: str
    depth: int  # jobs in the queue: waiting, deferred to later, and running
    running: int  # due jobs a worker holds (among the first LOOK_AHEAD due)
    oldest_age_s: float  # how long the oldest due, unclaimed job has waited since it was due; 0.0: none



async def queue_stats(redis: Redis, queues: Sequence[str], *, now_ms: int | None = None) -> list[QueueStat]:
    """One ``QueueStat`` per queue, in the order given (an unknown queue is empty)."""
    if not queues:
        return []
    now = int(time.time() * 1000) if now_ms is None else now_ms
    async with redis.pipeline(transaction=False) as pipe:
        for queue in queues:
            pipe.zcard(queue)
            pipe.zrangebyscore(queue, min=float("-inf"), max=now, start=0, num=LOOK_AHEAD, withscores=True)
        read = await pipe.execute()
    depths = [int(d) for d in read[0::2]]
    due: list[list[tuple[str, float]]] = [[(as_text(job_id), float(score)) for job_id, score in rows]
                                          for rows in read[1::2]]
    claimed: list[Any] = []
    if any(due):
        async with redis.pipeline(transaction=False) as pipe:
            for rows in due:
                for job_id, _score in rows:
                    pipe.exists(in_progress_key_prefix + job_id)
            claimed = await pipe.execute()
    stats, at = [], 0
    for queue, depth, rows in zip(queues, depths, due, strict=True):
        held = claimed[at:at + len(rows)]
        at += len(rows)
        waiting = [score for (_job_id, score), h in zip(rows, held, strict=True) if not h]
        running = sum(bool(h) for h in held)
        if not waiting and len(rows) == LOOK_AHEAD:
            waiting = [rows[-1][1]]  # all examined are claimed: the last one is a lower bound
        oldest = max(0.0, (now - min(waiting)) / 1000) if waiting else 0.0
        stats.append(QueueStat(queue=queue, depth=depth, running=running, oldest_age_s=round(oldest, 3)))
    return stats
