"""``EventBus``: the seed's in-process bus, moved onto Redis.

``publish(event_type, data)`` sends one envelope on the type's pub/sub channel and, for
journaled types (``shared.keys.JOURNALED_EVENTS``), appends it to a bounded stream in the same
transaction. ``subscribe(event_type, handler)`` gets live delivery; ``subscribe(...,
group="motivator")`` gets durable, catch-up delivery through a consumer group instead, which
is what a service that turns events into work uses.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from redis.asyncio import Redis

from shared.events.durable import DurableSubscriber
from shared.events.envelope import Envelope, encode_envelope
from shared.events.live import Handler, LiveSubscriber
from shared.keys import JOURNALED_EVENTS, event_channel, event_journal
from shared.metrics import EVENTS_PUBLISHED

__all__ = ["EventBus", "Handler"]


def default_consumer_name() -> str:
    """Stable across restarts of one container (its hostname), distinct between replicas."""
    return f"{socket.gethostname()}-{os.getpid()}"


class EventBus:
    """Publish and subscribe to BAT OS events over Redis."""

    def __init__(
        self,
        redis: Redis,
        source: str,
        *,
        journal_maxlen: int = 10_000,
        consumer_name: str | None = None,
        claim_idle_ms: int = 30_000,
        presence_ttl_s: float = 15.0,
    ):
        self._redis = redis
        self._source = source
        self._journal_maxlen = journal_maxlen
        self._consumer = consumer_name or default_consumer_name()
        self._claim_idle_ms = claim_idle_ms
        self._presence_ttl_s = presence_ttl_s
        self._live_handlers: dict[str, list[Handler]] = {}
        self._durable: list[DurableSubscriber] = []
        self._live: LiveSubscriber | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def publish(self, event_type: str, data: BaseModel | dict[str, Any] | None = None) -> Envelope:
        """Publish one event; returns its envelope. Raises ``InvalidInput`` on a bad payload."""
        envelope = Envelope.new(str(event_type), data or {}, self._source)
        await self._send(envelope.type, [envelope.to_json()])
        return envelope

    async def publish_many(self, event_type: str, items: Iterable[BaseModel | dict[str, Any]]) -> list[str]:
        """Publish several events of one type in one pipelined round trip, in order; their ids."""
        when = datetime.now(UTC).isoformat()
        encoded = [encode_envelope(str(event_type), data, self._source, when) for data in items]
        await self._send(str(event_type), [raw for _id, raw in encoded])
        return [event_id for event_id, _raw in encoded]

    async def _send(self, event_type: str, raws: list[str]) -> None:
        """Journal (if the type is journaled) before notifying, so a durable subscriber never
        misses an event that a live one saw."""
        channel = event_channel(event_type)
        journal = event_journal(event_type) if event_type in JOURNALED_EVENTS else None
        async with self._redis.pipeline(transaction=False) as pipe:
            for raw in raws:
                if journal is not None:
                    pipe.xadd(journal, {"envelope": raw}, maxlen=self._journal_maxlen, approximate=True)
                pipe.publish(channel, raw)
            await pipe.execute()
        EVENTS_PUBLISHED.labels(event_type).inc(len(raws))

    def subscribe(self, event_type: str, handler: Handler, *, group: str | None = None) -> None:
        """Register ``handler``; with ``group``, delivery is durable and split among the group."""
        if self._tasks:
            raise RuntimeError("subscribe before start()")
        if group is None:
            self._live_handlers.setdefault(str(event_type), []).append(handler)
            return
        if event_type not in JOURNALED_EVENTS:
            raise ValueError(f"{event_type} is not journaled; durable delivery is impossible")
        self._durable.append(DurableSubscriber(self._redis, str(event_type), group, self._consumer, handler,
                                               claim_idle_ms=self._claim_idle_ms,
                                               presence_ttl_s=self._presence_ttl_s))

    async def start(self, ready_timeout_s: float = 5.0) -> None:
        """Start delivering; returns once every subscription is live."""
        waits = []
        if self._live_handlers:
            self._live = LiveSubscriber(self._redis, self._live_handlers)
            self._tasks.append(asyncio.create_task(self._live.run(), name="events-live"))
            waits.append(self._live.connected.wait())
        for sub in self._durable:
            self._tasks.append(asyncio.create_task(sub.run(), name="events-durable"))
            waits.append(sub.ready.wait())
        if waits:
            await asyncio.wait_for(asyncio.gather(*waits), ready_timeout_s)

    async def stop(self) -> None:
        """Stop delivering (a handler in progress is cancelled; durable events stay pending)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    @property
    def live(self) -> LiveSubscriber | None:
        """The live subscriber, once started (tests watch its ``connected`` event)."""
        return self._live

    async def __aenter__(self) -> EventBus:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
