"""``GroupMember`` against a real Redis: reading, claiming, keeping alive, recreating a flushed group, leaving;
and the durable subscription on top of it surviving a flush."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from shared.events import EventBus
from shared.events.consumer_group import GroupMember
from shared.keys import EventType, consumer_presence_key, event_journal
from tests.shared.events.test_bus import Collector
from tests.support.eventually import eventually
from tests.support.redis_server import free_port

STREAM = "test:stream"


async def _add(redis, n: int, start: int = 0) -> list[str]:
    return [(await redis.xadd(STREAM, {"n": str(i)})).decode() for i in range(start, start + n)]


def _numbers(entries) -> list[int]:
    return [int(fields[b"n"]) for _id, fields in entries]


async def _members(redis) -> dict[str, int]:
    return {m["name"].decode(): int(m["pending"]) for m in await redis.xinfo_consumers(STREAM, "g")}


async def test_a_group_from_the_beginning_sees_what_was_there_before_it(redis) -> None:
    await _add(redis, 3)
    whole = GroupMember(redis, STREAM, "whole", "a", start_id="0")
    recent = GroupMember(redis, STREAM, "recent", "a")  # "$": only what comes after
    await whole.join()
    await recent.join()
    await _add(redis, 1, start=3)
    assert _numbers(await whole.read_new(10, None)) == [0, 1, 2, 3]
    assert _numbers(await recent.read_new(10, None)) == [3]
    assert await redis.exists(consumer_presence_key(STREAM, "whole", "a"))


async def test_own_pending_is_read_again_page_by_page_and_new_entries_only_once(redis) -> None:
    first = GroupMember(redis, STREAM, "g", "c", start_id="0")
    await first.join()
    await _add(redis, 5)
    assert _numbers(await first.read_new(10, 50)) == [0, 1, 2, 3, 4]
    assert await first.read_new(10, None) == []  # delivered already
    await first.ack((await redis.xrange(STREAM))[0][0])

    again = GroupMember(redis, STREAM, "g", "c", start_id="0")  # the same consumer after a restart
    page = await again.read_own_pending(2)
    assert _numbers(page) == [1, 2]
    page = await again.read_own_pending(2, after=page[-1][0])
    assert _numbers(page) == [3, 4]
    assert await again.read_own_pending(2, after=page[-1][0]) == []


async def test_entries_trimmed_while_pending_are_acknowledged_and_never_returned(redis) -> None:
    member = GroupMember(redis, STREAM, "g", "c", start_id="0")
    await member.join()
    ids = await _add(redis, 6)
    await member.read_new(10, None)
    await redis.xdel(STREAM, *ids[:4])  # a whole first page of own pending is gone
    assert _numbers(await member.read_own_pending(2)) == [4, 5]
    assert (await redis.xpending(STREAM, "g"))["pending"] == 2

    await redis.xdel(STREAM, ids[4])
    assert _numbers(await member.claim_stale(10, 0)) == [5]
    assert (await redis.xpending(STREAM, "g"))["pending"] == 1


async def test_stale_entries_are_claimed_across_calls_and_kept_alive_ones_are_not(redis) -> None:
    holder = GroupMember(redis, STREAM, "g", "holder", start_id="0")
    taker = GroupMember(redis, STREAM, "g", "taker", start_id="0")
    await holder.join()
    await _add(redis, 5)
    held = await holder.read_new(10, None)
    await asyncio.sleep(0.3)
    await holder.keep_alive([held[0][0]])  # still working on the first one

    got = await taker.claim_stale(2, 250)
    assert not taker.claim_walk_done  # more of the pending list to walk
    got += await taker.claim_stale(2, 250)
    got += await taker.claim_stale(2, 250)
    assert taker.claim_walk_done
    assert _numbers(got) == [1, 2, 3, 4]
    assert await _members(redis) == {"holder": 1, "taker": 4}
    assert await taker.deliveries(got[0][0]) == 2
    assert await holder.deliveries(held[0][0]) == 1


async def test_keep_alive_never_takes_back_what_another_member_claimed(redis) -> None:
    slow = GroupMember(redis, STREAM, "g", "slow", start_id="0")
    taker = GroupMember(redis, STREAM, "g", "taker", start_id="0")
    await slow.join()
    await _add(redis, 2)
    held = [entry_id for entry_id, _fields in await slow.read_new(10, None)]
    await asyncio.sleep(0.3)
    assert _numbers(await taker.claim_stale(1, 250)) == [0]  # the slow member looked dead for the first one

    assert await slow.keep_alive(held) == [held[0]]  # lost to the taker, reported; the second is kept
    assert await _members(redis) == {"slow": 1, "taker": 1}
    assert await taker.deliveries(held[0]) == 2  # not re-claimed by the slow member
    assert await taker.claim_stale(10, 250) == []  # the kept one's idle time was reset
    assert await taker.keep_alive(held[:1]) == []
    await slow.ack(held[1])
    assert await slow.keep_alive(held) == [held[0]]  # the acknowledged one is just skipped


async def test_what_a_dead_member_held_is_taken_over(redis) -> None:
    dead = GroupMember(redis, STREAM, "g", "dead", start_id="0", presence_ttl_s=1.0)
    await dead.create()  # killed before it ever wrote a presence
    await _add(redis, 2)
    await dead.read_new(10, None)
    await asyncio.sleep(1.1)
    survivor = GroupMember(redis, STREAM, "g", "survivor", start_id="0", presence_ttl_s=1.0)
    await survivor.join()
    assert _numbers(await survivor.take_over_dead(10)) == [0, 1]
    await survivor.ack(*[i for i, _f in await survivor.read_own_pending(10)])
    assert await survivor.take_over_dead(10) == []  # the dead one held nothing more: removed
    assert await _members(redis) == {"survivor": 0}
    assert await survivor.backlog() == {"pending": 0, "lag": 0}


async def test_a_flushed_group_is_recreated_even_under_a_blocked_read(redis) -> None:
    member = GroupMember(redis, STREAM, "g", "c", start_id="0")
    await member.join()
    blocked = asyncio.create_task(member.read_new(10, 5_000))
    await asyncio.sleep(0.2)
    await redis.flushall()  # the blocked read is answered UNBLOCKED
    assert await asyncio.wait_for(blocked, 5) == []
    assert member.recreated == 1
    assert await redis.exists(consumer_presence_key(STREAM, "g", "c"))  # rejoined
    await _add(redis, 1)
    assert _numbers(await member.read_new(10, None)) == [0]

    for call in (member.claim_stale(10, 0), member.take_over_dead(10), member.read_own_pending(10)):
        await redis.flushall()
        assert not await call
    await redis.flushall()
    assert await member.keep_alive(["1-0"]) == []  # nobody else holds it: nothing to report
    assert member.recreated == 5
    assert await member.backlog() == {"pending": 0, "lag": 0}
    await redis.flushall()
    assert await member.ack("1-0") == 0  # nothing to acknowledge any more


async def test_leaving_drops_presence_and_membership_unless_holding_work(redis) -> None:
    idle = GroupMember(redis, STREAM, "g", "idle", start_id="0")
    busy = GroupMember(redis, STREAM, "g", "busy", start_id="0")
    await idle.join()
    await busy.join()
    await _add(redis, 1)
    await busy.read_new(10, None)
    assert await idle.leave() and await busy.leave()
    assert await _members(redis) == {"busy": 1}  # its entry is not dropped with it
    assert not await redis.exists(consumer_presence_key(STREAM, "g", "busy"))


async def test_leaving_without_redis_does_not_raise() -> None:
    gone = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        assert await GroupMember(gone, STREAM, "g", "c").leave(timeout_s=1.0) is False
    finally:
        await gone.aclose()


async def test_a_durable_subscription_carries_on_after_a_flush(redis) -> None:
    journal = event_journal(EventType.TOOL_CREATED)
    seen = Collector()
    bus = EventBus(redis, source="m", consumer_name="c")
    bus.subscribe(EventType.TOOL_CREATED, seen, group="g")
    publisher = EventBus(redis, source="p")
    async with bus:
        await asyncio.sleep(0.3)  # the subscriber blocks in its read
        await redis.flushall()

        async def group_back() -> bool:
            return bool(await redis.exists(journal)) and len(await redis.xinfo_groups(journal)) == 1

        await eventually(group_back, within_s=10)
        sent = await publisher.publish(EventType.TOOL_CREATED, {"tool_name": "x", "version": 1})
        await seen.wait()
    assert [e.id for e in seen.got] == [sent.id]
    assert (await redis.xpending(journal, "g"))["pending"] == 0
