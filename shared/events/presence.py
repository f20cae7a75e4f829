"""Who is alive in a stream consumer group, and taking over from the members that died.

Redis keeps a consumer group's members (and what each holds) until someone removes them; a
restarted process joins under a new name, so without care dead names pile up and what a dead
member held waits for the idle-time claim (``XAUTOCLAIM``). Each member here refreshes a
presence key with a short TTL (``beat``); a member whose key has expired died without leaving.
``take_over_dead`` claims what such members held (at once, not after the idle time) and removes
them from the group once they hold nothing; ``leave`` removes this member on a clean stop.
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from redis.asyncio import Redis

from shared.keys import consumer_presence_key
from shared.redis_values import as_text

log = structlog.get_logger(__name__)

Entry = tuple[Any, dict[Any, Any]]
# A claim only takes entries idle this long, so two members taking over the same dead one at
# once do not take the entries from each other.
TAKE_OVER_MIN_IDLE_MS = 1_000



class GroupPresence:
    """This member's presence in (stream, group), and the removal of members that died."""

    def __init__(self, redis: Redis, stream: str, group: str, consumer: str, *, ttl_s: float = 15.0):
        self._redis = redis
        self._stream = stream
        self._group = group
        self.consumer = consumer
        self._ttl_ms = max(1000, int(ttl_s * 1000))
        self._last_beat = 0.0

    def _key(self, consumer: str) -> str:
        return consumer_presence_key(self._stream, self._group, consumer)

    async def beat(self, *, force: bool = False) -> None:
        """Refresh this member's presence (at most every third of its TTL unless ``force``)."""
        now = time.monotonic()
        if force or now - self._last_beat >= self._ttl_ms / 3000:
            await self._redis.set(self._key(self.consumer), "1", px=self._ttl_ms)
            self._last_beat = now

    async def take_over_dead(self, count: int) -> list[Entry]:
        """Claim up to ``count`` entries that dead members held; remove dead members holding nothing."""
        taken: list[Entry] = []
        for member in await self._redis.xinfo_consumers(self._stream, self._group):
            name = as_text(member["name"])
            if name == self.consumer or int(member.get("idle") or 0) < self._ttl_ms:
                continue  # us, or active within a TTL (it may not have written its presence yet)
            if await self._redis.exists(self._key(name)):
                continue
            if int(member.get("pending") or 0) == 0:
                await self._redis.xgroup_delconsumer(self._stream, self._group, name)
                log.info("dead consumer removed from its group", stream=self._stream, group=self._group,
                         consumer=name)
                continue
            if len(taken) < count:
                taken += await self._claim_from(name, count - len(taken))
        return taken

    async def _claim_from(self, dead: str, count: int) -> list[Entry]:
        rows = await self._redis.xpending_range(self._stream, self._group, min="-", max="+", count=count,
                                                consumername=dead)
        ids = [row["message_id"] for row in rows]
        if not ids:
            return []
        claimed = await self._redis.xclaim(self._stream, self._group, self.consumer,
                                           min_idle_time=TAKE_OVER_MIN_IDLE_MS, message_ids=ids)
        entries, gone = [], []
        for entry_id, fields in claimed:
            (entries.append((as_text(entry_id), fields)) if fields else gone.append(entry_id))
        if gone:  # trimmed from the stream meanwhile: nothing left to do for them
            await self._redis.xack(self._stream, self._group, *gone)
        log.info("took over a dead consumer's entries", stream=self._stream, group=self._group,
                 consumer=dead, entries=len(entries))
        return entries

    async def leave(self) -> None:
        """On a clean stop: gone from the group if holding nothing, else free for others at once."""
        await self._redis.delete(self._key(self.consumer))
        for member in await self._redis.xinfo_consumers(self._stream, self._group):
            if as_text(member["name"]) == self.consumer and int(member.get("pending") or 0) == 0:
                await self._redis.xgroup_delconsumer(self._stream, self._group, self.consumer)
