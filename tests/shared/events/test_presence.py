"""Members of a consumer group that died are taken over at once and leave the group; live ones are not."""

from __future__ import annotations

import asyncio

from shared.events import EventBus
from shared.events.presence import GroupPresence
from shared.keys import EventType, event_journal
from tests.shared.events.test_bus import Collector
from tests.support.eventually import eventually

JOURNAL = event_journal(EventType.TOOL_CREATED)


async def _members(redis) -> dict[str, int]:
    return {m["name"].decode(): int(m["pending"]) for m in await redis.xinfo_consumers(JOURNAL, "g")}


async def _held_by(redis, consumer: str) -> None:
    """``consumer`` reads everything new into its pending list (and never acknowledges it)."""
    await redis.xreadgroup("g", consumer, {JOURNAL: ">"}, count=100)


async def test_what_a_dead_member_held_is_taken_over_before_the_idle_claim_and_it_leaves(redis) -> None:
    await redis.xgroup_create(JOURNAL, "g", id="$", mkstream=True)
    sent = await EventBus(redis, source="test").publish(EventType.TOOL_CREATED, {"tool_name": "x", "version": 1})
    await _held_by(redis, "dead")  # killed with no presence key left behind
    await asyncio.sleep(1.1)  # idle for longer than the presence TTL below

    seen = Collector()
    survivor = EventBus(redis, source="m", consumer_name="survivor", claim_idle_ms=600_000, presence_ttl_s=1.0)
    survivor.subscribe(EventType.TOOL_CREATED, seen, group="g")
    async with survivor:
        await seen.wait(within_s=30)  # the idle claim would wait 10 minutes
        await eventually(lambda: _left(redis, "dead"), within_s=30, every=0.1)
        assert list(await _members(redis)) == ["survivor"]
    assert [e.id for e in seen.got] == [sent.id]
    assert await _members(redis) == {}  # the survivor left the group on its clean stop


async def test_a_live_member_keeps_what_it_holds(redis) -> None:
    await redis.xgroup_create(JOURNAL, "g", id="$", mkstream=True)
    await EventBus(redis, source="test").publish(EventType.TOOL_CREATED, {"tool_name": "x", "version": 1})
    busy = GroupPresence(redis, JOURNAL, "g", "busy", ttl_s=1.0)
    await _held_by(redis, "busy")
    await asyncio.sleep(1.1)  # idle as long as a dead one, but its presence is fresh
    await busy.beat(force=True)
    other = GroupPresence(redis, JOURNAL, "g", "other", ttl_s=1.0)
    assert await other.take_over_dead(10) == []
    assert (await _members(redis))["busy"] == 1


async def test_a_member_that_stops_with_work_pending_stays_until_that_work_is_taken(redis) -> None:
    await redis.xgroup_create(JOURNAL, "g", id="$", mkstream=True)
    await EventBus(redis, source="test").publish(EventType.TOOL_CREATED, {"tool_name": "x", "version": 1})
    stopping = GroupPresence(redis, JOURNAL, "g", "stopping", ttl_s=1.0)
    await stopping.beat(force=True)
    await _held_by(redis, "stopping")
    await stopping.leave()
    assert (await _members(redis))["stopping"] == 1  # its pending entry is not dropped with it
    await asyncio.sleep(1.1)
    taker = GroupPresence(redis, JOURNAL, "g", "taker", ttl_s=1.0)
    taken = await taker.take_over_dead(10)
    assert len(taken) == 1
    await redis.xack(JOURNAL, "g", taken[0][0])
    assert await taker.take_over_dead(10) == []
    assert "stopping" not in await _members(redis)


async def _left(redis, name: str) -> bool:
    return name not in await _members(redis)
