"""Turning a goal into a task, behind the runaway guards.

Every goal becomes a task through ``shared.task_intake.submit_task`` (``source=motivator``, the
causing event id, idempotent on the goal's key), unless a guard refuses it: an inquiry chain
deeper than ``motivator_max_inquiry_depth``, or the hourly cap. A refusal is never silent: it
is logged, and announced with ``motivator_cap_reached`` (the cap once per hour, depth each time).
"""

from __future__ import annotations

import structlog
from arq.connections import ArqRedis

from services.motivator.budget import HourlyBudget, Reservation
from services.motivator.goals import Goal
from shared.events import EventBus
from shared.keys import EventType, idempotency_key
from shared.stores.tasks import TaskRecord, TaskStore
from shared.task_intake import submit_task

log = structlog.get_logger(__name__)
SCOPE = "motivator"


class GoalSubmitter:
    def __init__(self, redis: ArqRedis, tasks: TaskStore, bus: EventBus, budget: HourlyBudget,
                 max_depth: int):
        self._redis = redis
        self._tasks = tasks
        self._bus = bus
        self._budget = budget
        self._max_depth = max_depth

    async def submit(self, goal: Goal) -> TaskRecord | None:
        """The task for ``goal`` (created now or before), or ``None`` if a guard refused it."""
        if goal.inquiry and goal.depth > self._max_depth:
            await self._refused_depth(goal)
            return None
        existing = await self._redis.get(idempotency_key(SCOPE, goal.key))
        if existing is not None:  # already created: a redelivery costs no budget
            return await self._tasks.get(existing.decode())
        reservation = await self._budget.reserve()
        if not reservation.granted:
            await self._refused_cap(goal, reservation)
            return None
        record = TaskRecord(text=goal.text, source=SCOPE, caused_by=goal.caused_by,
                            is_philosophical_inquiry=goal.inquiry, depth=goal.depth)
        task, created = await submit_task(self._redis, self._tasks, record, idempotency=(SCOPE, goal.key))
        if not created:
            await self._budget.release(reservation)
        else:
            log.info("goal submitted", kind=goal.kind, task_id=task.id, caused_by=goal.caused_by,
                     depth=goal.depth, used_this_hour=reservation.count)
        return task

    async def _refused_depth(self, goal: Goal) -> None:
        log.warning("motivator cap reached: inquiry too deep", kind=goal.kind, depth=goal.depth,
                    max_depth=self._max_depth, caused_by=goal.caused_by)
        await self._bus.publish(EventType.MOTIVATOR_CAP_REACHED, {
            "reason": "max_inquiry_depth", "kind": goal.kind, "depth": goal.depth,
            "max_depth": self._max_depth, "caused_by": goal.caused_by})

    async def _refused_cap(self, goal: Goal, reservation: Reservation) -> None:
        log.warning("motivator cap reached: hourly cap", kind=goal.kind, cap=reservation.cap,
                    refused_this_hour=reservation.over_by, caused_by=goal.caused_by)
        if reservation.over_by == 1:
            await self._bus.publish(EventType.MOTIVATOR_CAP_REACHED, {
                "reason": "hourly_cap", "kind": goal.kind, "cap": reservation.cap, "hour": reservation.hour,
                "caused_by": goal.caused_by})
