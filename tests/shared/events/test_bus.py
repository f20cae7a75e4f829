"""The event bus against a real Redis: live delivery, failures, restarts, durable catch-up."""

from __future__ import annotations

import asyncio

from shared.events import Envelope, EventBus
from shared.keys import EVENTS_DEAD_LETTER, EventType
from tests.support.redis_server import RedisServer


class Collector:
    def __init__(self, expected: int = 1) -> None:
        self.got: list[Envelope] = []
        self.expected = expected
        self.done = asyncio.Event()

    async def __call__(self, envelope: Envelope) -> None:
        self.got.append(envelope)
        if len(self.got) >= self.expected:
            self.done.set()

    async def wait(self, within_s: float = 20.0) -> None:
        await asyncio.wait_for(self.done.wait(), within_s)


async def test_publish_reaches_live_subscriber(redis) -> None:
    seen = Collector()
    bus = EventBus(redis, source="test")
    bus.subscribe(EventType.TOOL_CREATED, seen)
    async with bus:
        sent = await bus.publish(EventType.TOOL_CREATED, {"tool_name": "add", "version": 1})
        await seen.wait()
    assert seen.got == [sent]


async def test_raising_handler_does_not_stop_delivery_to_others(redis) -> None:
    calls: list[str] = []

    async def broken(envelope: Envelope) -> None:
        calls.append("broken")
        raise RuntimeError("handler bug")

    seen = Collector(expected=2)
    bus = EventBus(redis, source="test")
    bus.subscribe("ping", broken)
    bus.subscribe("ping", seen)
    async with bus:
        await bus.publish("ping", {"n": 1})
        await bus.publish("ping", {"n": 2})
        await seen.wait()
    assert [e.data["n"] for e in seen.got] == [1, 2]
    assert calls == ["broken", "broken"]


async def test_subscriber_resubscribes_after_redis_restart(redis, live_redis: RedisServer) -> None:
    seen = Collector()
    bus = EventBus(redis, source="test")
    bus.subscribe("ping", seen)
    async with bus:
        assert bus.live is not None
        live_redis.stop(kill=True)
        await asyncio.sleep(0.2)
        live_redis.start()
        # the subscriber notices, reconnects and resubscribes without being told
        for _ in range(100):
            if bus.live.connected.is_set() and bus.live.reconnects > 0:
                break
            await asyncio.sleep(0.05)
        assert bus.live.reconnects > 0
        await asyncio.wait_for(bus.live.connected.wait(), 10)
        await bus.publish("ping", {"after": "restart"})
        await seen.wait()
    assert seen.got[0].data == {"after": "restart"}


async def test_durable_subscriber_catches_up_after_restart(redis) -> None:
    publisher = EventBus(redis, source="cognition")
    first = Collector()
    motivator = EventBus(redis, source="motivator", consumer_name="motivator-1")
    motivator.subscribe(EventType.HIGH_COGNITIVE_DISSONANCE, first, group="motivator")
    await motivator.start()
    await publisher.publish(EventType.HIGH_COGNITIVE_DISSONANCE, {"task_id": "t0", "task": "q", "score": 0.9})
    await first.wait()
    await motivator.stop()

    sent = [await publisher.publish(EventType.HIGH_COGNITIVE_DISSONANCE,
                                    {"task_id": f"t{i}", "task": "q", "score": 0.9}) for i in range(1, 6)]

    again = Collector(expected=5)
    restarted = EventBus(redis, source="motivator", consumer_name="motivator-1")
    restarted.subscribe(EventType.HIGH_COGNITIVE_DISSONANCE, again, group="motivator")
    async with restarted:
        await again.wait()
    assert [e.id for e in again.got] == [e.id for e in sent]


async def test_replicas_in_a_group_split_events_and_a_dead_ones_are_claimed(redis) -> None:
    publisher = EventBus(redis, source="test")
    a, b = Collector(expected=1000), Collector(expected=1000)
    bus_a = EventBus(redis, source="m", consumer_name="a")
    bus_b = EventBus(redis, source="m", consumer_name="b")
    bus_a.subscribe(EventType.TOOL_CREATED, a, group="g")
    bus_b.subscribe(EventType.TOOL_CREATED, b, group="g")
    async with bus_a, bus_b:
        sent = {(await publisher.publish(EventType.TOOL_CREATED, {"tool_name": f"t{i}", "version": 1})).id
                for i in range(40)}
        for _ in range(200):
            if len(a.got) + len(b.got) >= 40:
                break
            await asyncio.sleep(0.02)
    ids = [e.id for e in a.got + b.got]
    assert sorted(ids) == sorted(sent)  # each once, none lost


async def test_event_read_by_a_consumer_that_died_is_claimed_by_another(redis) -> None:
    publisher = EventBus(redis, source="test")
    # "dead" reads the event into its pending list and never acknowledges it
    await redis.xgroup_create("batos:journal:tool_created", "g", id="$", mkstream=True)
    sent = await publisher.publish(EventType.TOOL_CREATED, {"tool_name": "x", "version": 1})
    await redis.xreadgroup("g", "dead", {"batos:journal:tool_created": ">"}, count=10)

    seen = Collector()
    survivor = EventBus(redis, source="m", consumer_name="survivor", claim_idle_ms=100)
    survivor.subscribe(EventType.TOOL_CREATED, seen, group="g")
    async with survivor:
        await seen.wait()
    assert seen.got[0].id == sent.id
    pending = await redis.xpending("batos:journal:tool_created", "g")
    assert pending["pending"] == 0


async def test_durable_handler_that_keeps_failing_goes_to_dead_letters(redis) -> None:
    attempts = 0

    async def poison(envelope: Envelope) -> None:
        nonlocal attempts
        attempts += 1
        raise ValueError("cannot handle")

    good = Collector()
    bus = EventBus(redis, source="m", consumer_name="c")
    bus.subscribe(EventType.TOOL_CREATED, poison, group="g")
    bus.subscribe(EventType.MODEL_TUNED, good, group="g")
    publisher = EventBus(redis, source="p")
    async with bus:
        await publisher.publish(EventType.TOOL_CREATED, {"tool_name": "x", "version": 1})
        await publisher.publish(EventType.MODEL_TUNED, {"persona": "BRICK", "new_model_tag": "m2"})
        await good.wait()
        for _ in range(100):
            if await redis.xlen(EVENTS_DEAD_LETTER):
                break
            await asyncio.sleep(0.02)
    assert attempts == 3
    dead = await redis.xrange(EVENTS_DEAD_LETTER)
    assert dead[0][1][b"reason"] == b"handler failed 3 times"
    assert (await redis.xpending("batos:journal:tool_created", "g"))["pending"] == 0
