"""The proactive trigger: when no task was processed for a while and nothing is queued.

Activity lives in Redis (``LAST_ACTIVITY``, written by the cognition worker), so every replica
sees the same idle period. Each replica checks on a timer; the period is identified by the
last-activity value it is idle since, and that value is the task's idempotency key, so
however many replicas see the period, one task is created; a replica that crashes mid-way
holds nothing (no lock to expire): the next check of any replica completes the work. Once the
task is queued the queue is not empty, and when it has been answered the activity time has
moved on: the next period starts from there.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog
from redis.asyncio import Redis

from services.motivator.goals import proactive
from services.motivator.submit import GoalSubmitter
from shared.keys import LAST_ACTIVITY, MOTIVATOR_PROACTIVE_COUNTER, QUEUE_COGNITION
from shared.redis_values import as_text
from shared.stores.tasks import TaskRecord

log = structlog.get_logger(__name__)


class IdleTrigger:
    def __init__(self, redis: Redis, submitter: GoalSubmitter, idle_after_s: float,
                 clock: Callable[[], float] = time.time):
        self._redis = redis
        self._submitter = submitter
        self._idle_after_s = idle_after_s
        self._clock = clock
        self._refused: tuple[str, int] | None = None

    async def prime(self) -> None:
        """A fresh system counts as active since the first motivator started."""
        await self._redis.set(LAST_ACTIVITY, repr(self._clock()), nx=True)

    async def check(self) -> TaskRecord | None:
        """Create this idle period's proactive task if it is due; returns it when created or found."""
        async with self._redis.pipeline(transaction=True) as pipe:  # one consistent snapshot
            pipe.get(LAST_ACTIVITY)
            pipe.zcard(QUEUE_COGNITION)
            raw, queued = await pipe.execute()
        if raw is None:
            await self.prime()
            return None
        since = as_text(raw)
        if queued or self._clock() - float(since) < self._idle_after_s:
            return None
        period = (since, int(self._clock() // 3600))
        if period == self._refused:  # already refused and reported this period and hour
            return None
        number = int(await self._redis.get(MOTIVATOR_PROACTIVE_COUNTER) or 0)
        task = await self._submitter.submit(proactive(since, number))
        if task is not None and task.text == proactive(since, number).text:
            await self._redis.incr(MOTIVATOR_PROACTIVE_COUNTER)  # the next period asks something else
        self._refused = None if task else period
        return task
