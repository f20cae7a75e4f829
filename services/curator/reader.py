"""The curator's side of the interaction stream: one consumer in the ``curators`` group.

Entries are delivered to one consumer each; an entry stays pending until its verdict is stored
and acknowledged. Entries held longer than ``claim_idle_ms`` by a consumer that died are taken
over with ``XAUTOCLAIM``; a live consumer refreshes the idle time of what it is working on
(``XCLAIM ... JUSTID``), so a slow judge is not mistaken for a dead curator. The group starts
at the beginning of the stream: interactions logged before any curator ran are curated too.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from shared.keys import CURATOR_GROUP, INTERACTIONS_STREAM

Entry = tuple[str, dict[Any, Any]]


def _id(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class StreamReader:
    def __init__(self, redis: Redis, consumer: str, *, stream: str = INTERACTIONS_STREAM,
                 group: str = CURATOR_GROUP):
        self.redis = redis
        self.consumer = consumer
        self.stream = stream
        self.group = group
        self._claim_cursor = "0-0"

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read(self, count: int, block_ms: int | None, *, own_pending: bool = False) -> list[Entry]:
        """New entries (``>``), or with ``own_pending`` the ones this consumer already holds."""
        try:
            start = "0" if own_pending else ">"
            reply = await self.redis.xreadgroup(self.group, self.consumer, {self.stream: start}, count=count,
                                                block=None if own_pending else block_ms)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.ensure_group()  # the stream or the group vanished (a Redis flush)
            return []
        return [(_id(i), f) for _s, entries in reply or [] for i, f in entries if f]

    async def claim_stale(self, count: int, min_idle_ms: int) -> list[Entry]:
        """Entries another (presumably dead) consumer held for ``min_idle_ms``, now ours."""
        try:
            reply = await self.redis.xautoclaim(self.stream, self.group, self.consumer,
                                                min_idle_time=min_idle_ms, start_id=self._claim_cursor,
                                                count=count)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.ensure_group()
            return []
        self._claim_cursor = _id(reply[0])
        entries, gone = [], []
        for raw_id, fields in reply[1]:
            (entries.append((_id(raw_id), fields)) if fields else gone.append(raw_id))
        if len(reply) > 2:
            gone += reply[2]  # Redis 7: ids whose entries were trimmed from the stream
        if gone:
            await self.redis.xack(self.stream, self.group, *gone)
        return entries

    async def deliveries(self, entry_id: str) -> int:
        """How many times the entry was delivered (1 on its first delivery)."""
        rows = await self.redis.xpending_range(self.stream, self.group, min=entry_id, max=entry_id, count=1)
        return int(rows[0]["times_delivered"]) if rows else 1

    async def refresh(self, entry_ids: list[str]) -> None:
        """Reset the idle time of entries still being worked on (a heartbeat)."""
        if entry_ids:
            await self.redis.xclaim(self.stream, self.group, self.consumer, min_idle_time=0,
                                    message_ids=entry_ids, justid=True)

    async def backlog(self) -> dict[str, int]:
        """Pending (delivered, unacknowledged) and lag (not yet delivered) for the group."""
        for group in await self.redis.xinfo_groups(self.stream):
            if _id(group["name"]) == self.group:
                return {"pending": int(group["pending"]), "lag": int(group.get("lag") or 0)}
        return {"pending": 0, "lag": 0}
