"""Durable delivery: a consumer group on an event type's journal stream.

Each journaled event is delivered to one member of the group (replicas split the work), is
acknowledged only after its handler succeeded, and is claimed by another member when the one
holding it died (``XAUTOCLAIM`` after ``claim_idle_ms``). A subscriber that was down reads what
was journaled meanwhile when it comes back. Delivery is at least once: handlers that create
work must be idempotent (the event id is the natural key).

Members keep a presence key alive (``shared.events.presence``): what a member that died held is
taken over within the presence TTL (not after ``claim_idle_ms``), and dead members leave the
group; a member stopped cleanly leaves by itself. The group work itself (reading, claiming,
presence, recreating a flushed group) is ``shared.events.consumer_group.GroupMember``'s; this
module decides what delivery means for events.

A handler that keeps failing is retried ``max_attempts`` times, then the event is acknowledged
and copied to the dead-letter stream with its reason, so one poison event cannot block a group.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from shared.events.consumer_group import GroupMember, group_lost
from shared.events.envelope import Envelope
from shared.events.live import RECONNECT_ERRORS, Handler, call_handler
from shared.keys import EVENTS_DEAD_LETTER, event_journal

log = structlog.get_logger(__name__)


class DurableSubscriber:
    """One consumer of one (event type, group) pair."""

    def __init__(
        self,
        redis: Redis,
        event_type: str,
        group: str,
        consumer: str,
        handler: Handler,
        *,
        claim_idle_ms: int = 30_000,
        block_ms: int = 1_000,
        batch: int = 50,
        max_attempts: int = 3,
        start_id: str = "$",
        presence_ttl_s: float = 15.0,
    ):
        self._redis = redis
        self._stream = event_journal(event_type)
        self._group = group
        self._handler = handler
        self._claim_idle_ms = claim_idle_ms
        self._block_ms = block_ms
        self._batch = batch
        self._max_attempts = max_attempts
        self._presence_ttl_s = presence_ttl_s
        self.member = GroupMember(redis, self._stream, group, consumer, start_id=start_id,
                                  presence_ttl_s=presence_ttl_s)
        self.presence = self.member.presence
        self.ready = asyncio.Event()
        self.delivered = 0

    async def run(self) -> None:
        """Consume until cancelled, surviving Redis restarts and a lost group."""
        try:
            await self._consume()
        finally:
            await asyncio.shield(self.member.leave())  # if Redis is away, the presence expires anyway

    async def _consume(self) -> None:
        backoff = 0.05
        while True:
            try:
                await self.member.join()
                await self._drain_own()  # what this consumer held before a restart
                self.ready.set()
                backoff = 0.05
                looked = 0.0
                while True:
                    await self.member.beat()
                    if time.monotonic() - looked >= self._presence_ttl_s / 3:
                        looked = time.monotonic()
                        for entry_id, fields in await self.member.take_over_dead(self._batch):
                            await self._handle(entry_id, fields)
                    await self._claim_stale()
                    for entry_id, fields in await self.member.read_new(self._batch, self._block_ms):
                        await self._handle(entry_id, fields)
            except RECONNECT_ERRORS as exc:
                self.ready.clear()
                log.warning("durable subscriber lost Redis; reconnecting", stream=self._stream,
                            error=str(exc), in_s=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
            except ResponseError as exc:
                if not group_lost(exc):  # the group vanished under the dead-letter transaction
                    raise
                self.ready.clear()
                log.warning("consumer group vanished (Redis flushed?); recreating", stream=self._stream)

    async def _drain_own(self) -> None:
        after = "0"
        while entries := await self.member.read_own_pending(self._batch, after=after):
            for entry_id, fields in entries:
                await self._handle(entry_id, fields)
            after = entries[-1][0]

    async def _claim_stale(self) -> None:
        """Walk the whole pending list once, handling what was idle for ``claim_idle_ms``."""
        while True:
            for entry_id, fields in await self.member.claim_stale(self._batch, self._claim_idle_ms):
                await self._handle(entry_id, fields)
            if self.member.claim_walk_done:
                return

    async def _handle(self, entry_id: str, fields: dict[Any, Any]) -> None:
        raw = fields.get(b"envelope", fields.get("envelope")) or b""
        try:
            envelope = Envelope.from_json(raw)
        except (ValidationError, TypeError) as exc:
            await self._dead_letter(entry_id, raw, f"malformed envelope: {exc}")
            return
        for attempt in range(1, self._max_attempts + 1):
            if await call_handler(self._handler, envelope):
                await self.member.ack(entry_id)
                self.delivered += 1
                return
            await asyncio.sleep(0.05 * attempt)
        await self._dead_letter(entry_id, raw, f"handler failed {self._max_attempts} times")

    async def _dead_letter(self, entry_id: str, raw: Any, reason: str) -> None:
        log.error("event moved to dead letters", stream=self._stream, group=self._group, reason=reason)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(EVENTS_DEAD_LETTER, {"stream": self._stream, "group": self._group,
                                           "envelope": raw or b"", "reason": reason},
                      maxlen=10_000, approximate=True)
            pipe.xack(self._stream, self._group, entry_id)
            await pipe.execute()
