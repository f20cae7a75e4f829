"""Motivators SIGKILLed again and again while dissonance events arrive: one inquiry per event,
none lost, dead replicas leave the events group."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from shared.events import EventBus
from shared.keys import MOTIVATOR_GROUP, EventType, event_journal
from shared.stores.tasks import TaskRecord, TaskStore
from tests.chaos.conftest import SCALE
from tests.chaos.replicas import Replicas
from tests.support.eventually import eventually

pytestmark = [pytest.mark.chaos, pytest.mark.slow, pytest.mark.timeout(300 * SCALE)]

EVENTS = 120 * SCALE
KILLS = 8 * SCALE
JOURNAL = event_journal(EventType.HIGH_COGNITIVE_DISSONANCE)


async def test_killed_motivators_create_one_inquiry_per_event(redis, chaos_env: dict[str, str]) -> None:
    env = {**chaos_env, "BATOS_MOTIVATOR_IDLE_AFTER_S": "3600", "BATOS_MOTIVATOR_PRESENCE_TTL_S": "2",
           "BATOS_MOTIVATOR_HOURLY_CAP": "100000",
           "BATOS_MOTIVATOR_CLAIM_IDLE_MS": "600000"}  # only the presence brings work back quickly
    motivators = Replicas("services.motivator", env, count=2, name="motivator")
    await motivators.start()
    bus = EventBus(redis, "cognition")
    try:
        for n in range(EVENTS):
            await bus.publish(EventType.HIGH_COGNITIVE_DISSONANCE,
                              {"task_id": f"t{n}", "task": f"question {n}", "score": 0.8})
            if n % (EVENTS // KILLS) == EVENTS // KILLS // 2:
                await motivators.kill_one()
            await asyncio.sleep(0.05)

        async def all_inquired() -> bool:
            return len(await motivator_tasks(redis)) >= EVENTS

        await eventually(all_inquired, within_s=120 * SCALE, every=0.2)
        await eventually(lambda: _members_are(redis, 2), within_s=60, every=0.5)
        assert motivators.all_alive(), motivators.output()
    finally:
        codes = motivators.stop()
    assert codes == [0, 0], motivators.output()
    inquiries = Counter(t.text.split("'")[1] for t in await motivator_tasks(redis))
    assert sorted(inquiries) == sorted(f"question {n}" for n in range(EVENTS))
    assert set(inquiries.values()) == {1}  # one inquiry per event, however many replicas died
    assert await _members_are(redis, 0)  # the survivors left on their clean stop
    print(f"\n{len(motivators.kills)} motivator kills over {EVENTS} events: one inquiry each")


async def motivator_tasks(redis) -> list[TaskRecord]:
    return [t for t in await TaskStore(redis).list(limit=EVENTS + 100) if t.source == "motivator"]


async def _members_are(redis, n: int) -> bool:
    return len(await redis.xinfo_consumers(JOURNAL, MOTIVATOR_GROUP)) == n
