"""Motivators as real processes: three replicas create each task once; a restarted one catches up."""

from __future__ import annotations

import asyncio

from shared.events import EventBus
from shared.keys import LAST_ACTIVITY, EventType
from tests.services.motivator.conftest import motivator_process, motivator_tasks
from tests.support.eventually import eventually
from tests.support.fake_ollama import FakeOllama
from tests.workers.cognition.helpers import personas, run_cognition
from workers.cognition.settings import CognitionSettings

GRACE_S = 0.5  # how long a duplicate would need to show up (replicas check every 50 ms)


async def publish_dissonance(redis, ids: range) -> set[str]:
    bus = EventBus(redis, "cognition")
    return {(await bus.publish(EventType.HIGH_COGNITIVE_DISSONANCE,
                               {"task_id": f"t{i}", "task": f"question {i}", "score": 0.8})).id for i in ids}


async def count_is(redis, n: int) -> bool:
    return len(await motivator_tasks(redis)) >= n


async def test_three_replicas_twenty_events_twenty_tasks(redis, live_redis, motivators) -> None:
    motivators.extend(motivator_process(live_redis.url, f"motivator-{i}").start() for i in range(3))
    for process in motivators:
        await asyncio.to_thread(process.wait_for_output, "motivator ready")
    sent = await publish_dissonance(redis, range(20))
    resent = await publish_dissonance(redis, range(20))  # the same dissonances again: no new tasks
    await eventually(lambda: count_is(redis, 20))
    await asyncio.sleep(GRACE_S)
    tasks = await motivator_tasks(redis)
    assert len(tasks) == 20
    assert {t.text.split("'")[1] for t in tasks} == {f"question {i}" for i in range(20)}
    assert {t.caused_by for t in tasks} <= sent | resent
    assert all(p.alive() for p in motivators)


async def test_three_replicas_fire_one_proactive_task_per_idle_period(
    redis, live_redis, motivators, fake_ollama: FakeOllama
) -> None:
    fast = {"BATOS_MOTIVATOR_IDLE_AFTER_S": "0.5"}
    motivators.extend(motivator_process(live_redis.url, f"idle-{i}", **fast).start() for i in range(3))
    await eventually(lambda: count_is(redis, 1))
    await asyncio.sleep(GRACE_S)
    assert len(await motivator_tasks(redis)) == 1  # queued, so no replica fires again

    fake_ollama.on_chat(personas())
    settings = CognitionSettings(redis_url=live_redis.url, ollama_host=fake_ollama.host, environment="test")
    await run_cognition(settings)  # answered: activity moves on, the queue is empty
    answered_at = float(await redis.get(LAST_ACTIVITY))
    await eventually(lambda: count_is(redis, 2))
    await asyncio.sleep(GRACE_S)
    tasks = await motivator_tasks(redis)
    assert len(tasks) == 2
    assert tasks[0].created_at - answered_at >= 0.5  # the second period began when the first was answered


async def test_a_motivator_down_while_events_were_published_creates_their_tasks_on_return(
    redis, live_redis, motivators
) -> None:
    first = motivator_process(live_redis.url, "motivator-a").start()
    motivators.append(first)
    await asyncio.to_thread(first.wait_for_output, "motivator ready")
    assert first.stop() == 0  # SIGTERM: a clean stop
    await publish_dissonance(redis, range(5))
    assert await motivator_tasks(redis) == []
    again = motivator_process(live_redis.url, "motivator-a-again").start()
    motivators.append(again)
    await eventually(lambda: count_is(redis, 5))
    await asyncio.sleep(GRACE_S)
    assert len(await motivator_tasks(redis)) == 5
