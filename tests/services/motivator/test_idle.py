"""The idle trigger, on a clock the test moves: one proactive task per idle period."""

from __future__ import annotations

from services.motivator.budget import HourlyBudget
from services.motivator.goals import PROACTIVE_GOALS
from services.motivator.idle import IdleTrigger
from services.motivator.submit import GoalSubmitter
from shared.events import EventBus
from shared.keys import LAST_ACTIVITY, QUEUE_COGNITION, EventType, motivator_hourly_count
from shared.stores.tasks import TaskStore
from tests.services.motivator.conftest import journal, motivator_tasks


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def trigger(redis, clock: Clock, cap: int = 100) -> IdleTrigger:
    bus = EventBus(redis, "motivator")
    submitter = GoalSubmitter(redis, TaskStore(redis), bus, HourlyBudget(redis, cap, clock), max_depth=2)
    return IdleTrigger(redis, submitter, idle_after_s=60, clock=clock)


async def test_fires_once_per_idle_period_and_only_when_the_queue_is_empty(redis) -> None:
    clock = Clock()
    replicas = [trigger(redis, clock) for _ in range(3)]
    assert await replicas[0].check() is None  # no activity recorded yet: the clock starts now
    clock.now += 59
    assert [await r.check() for r in replicas] == [None, None, None]
    clock.now += 2
    fired = [await r.check() for r in replicas]
    assert fired[0] is not None and fired[1:] == [None, None]  # the job is queued now
    [task] = await motivator_tasks(redis)
    assert task.text.startswith("Review recent system activities") and task.caused_by is None

    await redis.delete(QUEUE_COGNITION)  # drained, but no task was processed: same period
    assert [(await r.check()).id for r in replicas] == [task.id] * 3
    assert len(await motivator_tasks(redis)) == 1

    await redis.set(LAST_ACTIVITY, repr(clock.now))  # the cognition worker answered it
    clock.now += 61
    second = await replicas[2].check()
    assert second is not None and second.id != task.id
    assert second.text != task.text  # each period asks something new: new material to curate
    assert len(await motivator_tasks(redis)) == 2


async def test_does_not_fire_while_work_is_queued(redis) -> None:
    clock = Clock()
    idle = trigger(redis, clock)
    await idle.prime()
    await redis.zadd(QUEUE_COGNITION, {"task:someone-else": 1})
    clock.now += 3600
    assert await idle.check() is None
    assert await motivator_tasks(redis) == []


async def test_idle_task_over_the_cap_is_reported_once_not_retried_every_tick(redis) -> None:
    clock = Clock()
    idle = trigger(redis, clock, cap=0)
    await idle.prime()
    clock.now += 61
    assert await idle.check() is None
    assert await idle.check() is None
    assert await motivator_tasks(redis) == []
    [report] = await journal(redis, EventType.MOTIVATOR_CAP_REACHED)
    assert report.data["reason"] == "hourly_cap" and report.data["kind"] == "proactive"
    assert await redis.get(motivator_hourly_count(int(clock.now // 3600))) == b"1"


async def test_proactive_goals_rotate_through_the_list(redis) -> None:
    clock = Clock()
    idle = trigger(redis, clock)
    await idle.prime()
    texts = []
    for _ in range(len(PROACTIVE_GOALS) + 1):
        clock.now += 61
        task = await idle.check()
        assert task is not None
        texts.append(task.text)
        await redis.delete(QUEUE_COGNITION)
        await redis.set(LAST_ACTIVITY, repr(clock.now))
    assert texts[:-1] == list(PROACTIVE_GOALS) and texts[-1] == PROACTIVE_GOALS[0]
