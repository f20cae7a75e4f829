"""``GroupMember``: one member of a Redis stream consumer group, the one primitive for group work.

Every service that splits a stream among replicas (the event bus's durable subscriptions, the
curator) goes through this class; what is delivered and when it is acknowledged is the caller's
business, how the group is read, claimed and kept is this module's.

- ``join`` creates the group if missing (at ``start_id``: ``"$"`` new entries only, ``"0"`` the
  whole stream) and writes this member's presence.
- ``read_new`` takes entries never delivered (``>``); ``read_own_pending`` re-reads what this
  member holds but has not acknowledged (after a restart under the same name).
- ``take_over_dead`` claims at once what members without a presence key held (they died) and
  removes dead members that hold nothing (``shared.events.presence``); ``claim_stale`` claims
  whatever any member held longer than an idle time (``XAUTOCLAIM``), walking the pending list
  across calls.
- ``keep_alive`` resets the idle time of entries still being worked on and still held by this
  member (``XCLAIM ... JUSTID`` in one script), so slow work is not mistaken for a dead member's; an
  entry another member claimed meanwhile stays with it, and is returned; ``beat`` keeps the
  presence key alive.
- ``ack`` acknowledges; ``leave`` on a clean stop drops the presence and, holding nothing, the
  membership.

Entries trimmed from the stream while pending come back without fields: they are acknowledged
here and never returned. When the group vanishes (a Redis flush, the stream deleted while a read
blocked), the reading and claiming calls recreate it, rewrite the presence and return nothing;
Redis connection errors propagate (``shared.events.live.RECONNECT_ERRORS``), and retrying is
the caller's loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from shared.events.live import RECONNECT_ERRORS
from shared.events.presence import GroupPresence
from shared.redis_values import as_text

log = structlog.get_logger(__name__)

Entry = tuple[str, dict[Any, Any]]
T = TypeVar("T")

_CURSOR_START = "0-0"
# What Redis answers when the group (or its stream) is gone: NOGROUP from the group commands,
# "no such key" from XINFO, UNBLOCKED to a blocked XREADGROUP whose stream was deleted.
_GROUP_LOST = ("NOGROUP", "no such key", "UNBLOCKED")

# KEYS: stream; ARGV: group, consumer, entry ids. Resets the idle time of the entries the consumer
# still holds, atomically with the check, so an entry another member claimed is never taken back;
# returns the ids pending with another member (an entry no longer pending, acknowledged or trimmed,
# is simply skipped).
_KEEP_OWN = """
local lost = {}
for i = 3, #ARGV do
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if #pending == 1 then
    if pending[1][2] == ARGV[2] then
      redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    else
      table.insert(lost, ARGV[i])
    end
  end
end
return lost
"""


def group_lost(exc: ResponseError) -> bool:
    """Whether Redis refused a group command because the group or its stream no longer exists."""
    return any(mark in str(exc) for mark in _GROUP_LOST)



class GroupMember:
    """``consumer``'s membership in (``stream``, ``group``)."""

    def __init__(self, redis: Redis, stream: str, group: str, consumer: str, *, start_id: str = "$",
                 presence_ttl_s: float = 15.0):
        self.redis = redis
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.start_id = start_id
        self.presence = GroupPresence(redis, stream, group, consumer, ttl_s=presence_ttl_s)
        self._claim_cursor = _CURSOR_START
        self.recreated = 0  # times the group was found gone and created again
        self._keep_own = redis.register_script(_KEEP_OWN)

    # --- membership -------------------------------------------------------------------------

    async def create(self) -> None:
        """Create the group (and the stream) at ``start_id`` unless it exists."""
        try:
            await self.redis.xgroup_create(self.stream, self.group, id=self.start_id, mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def join(self) -> None:
        """Create the group if needed and announce this member (its presence, written now)."""
        await self.create()
        await self.presence.beat(force=True)

    async def beat(self) -> None:
        """Keep this member's presence alive (writes at most every third of its TTL)."""
        await self.presence.beat()

    async def leave(self, timeout_s: float = 2.0) -> bool:
        """On a clean stop: drop the presence, and the membership if holding nothing.

        Never raises for Redis being away or slow (the presence expires by itself then and the
        others take over); returns whether it left cleanly.
        """
        try:
            await asyncio.wait_for(self.presence.leave(), timeout_s)
        except (*RECONNECT_ERRORS, ResponseError, TimeoutError) as exc:
            log.warning("left the consumer group uncleanly", stream=self.stream, group=self.group,
                        consumer=self.consumer, error=str(exc))
            return False
        return True

    # --- reading ----------------------------------------------------------------------------

    async def read_new(self, count: int, block_ms: int | None) -> list[Entry]:
        """Up to ``count`` entries never delivered to the group (``>``), now held by this member;
        waits up to ``block_ms`` for some (``None``: does not wait)."""
        async def read() -> list[Entry]:
            reply = await self.redis.xreadgroup(self.group, self.consumer, {self.stream: ">"}, count=count,
                                                block=block_ms)
            return [(as_text(i), f) for _s, entries in reply or [] for i, f in entries if f]

        return await self._guarded(read, [])

    async def read_own_pending(self, count: int, after: str = "0") -> list[Entry]:
        """Up to ``count`` entries this member holds unacknowledged, with ids after ``after``."""
        async def read() -> list[Entry]:
            start = after
            while True:
                reply = await self.redis.xreadgroup(self.group, self.consumer, {self.stream: start},
                                                    count=count)
                raw = [(i, f) for _s, entries in reply or [] for i, f in entries]
                if not raw:
                    return []
                entries = await self._keep_present(raw)
                if entries:
                    return entries
                start = as_text(raw[-1][0])  # a page of trimmed entries only: read on past it

        return await self._guarded(read, [])

    # --- claiming ---------------------------------------------------------------------------

    async def take_over_dead(self, count: int) -> list[Entry]:
        """Up to ``count`` entries that dead members (no presence) held, now this member's;
        dead members holding nothing are removed from the group."""
        async def take() -> list[Entry]:
            return [(as_text(i), f) for i, f in await self.presence.take_over_dead(count)]

        return await self._guarded(take, [])

    async def claim_stale(self, count: int, min_idle_ms: int) -> list[Entry]:
        """Up to ``count`` entries any member held for ``min_idle_ms`` or longer, now this member's.

        Successive calls walk the group's pending list from where the previous one stopped;
        ``claim_walk_done`` says the last call reached its end (the next starts over).
        """
        async def claim() -> list[Entry]:
            reply = await self.redis.xautoclaim(self.stream, self.group, self.consumer, min_idle_time=min_idle_ms,
                                                start_id=self._claim_cursor, count=count)
            self._claim_cursor = as_text(reply[0])
            entries = await self._keep_present(reply[1])
            if len(reply) > 2 and reply[2]:  # Redis 7: ids whose entries were trimmed from the stream
                await self.redis.xack(self.stream, self.group, *reply[2])
            return entries

        return await self._guarded(claim, [])

    @property
    def claim_walk_done(self) -> bool:
        """Whether the last ``claim_stale`` reached the end of the pending list."""
        return self._claim_cursor == _CURSOR_START

    async def keep_alive(self, entry_ids: list[str]) -> list[str]:
        """Reset the idle time of entries still being worked on (so no one claims them as stale);
        returns those another member holds now (claimed after this one looked dead)."""
        if not entry_ids:
            return []

        async def refresh() -> list[str]:
            lost = await self._keep_own(keys=[self.stream], args=[self.group, self.consumer, *entry_ids])
            return [as_text(entry_id) for entry_id in lost]

        return await self._guarded(refresh, [])

    # --- finishing and inspecting -----------------------------------------------------------

    async def ack(self, *entry_ids: str | bytes) -> int:
        """Acknowledge entries (done: never delivered again); how many were pending."""
        if not entry_ids:
            return 0

        async def ack() -> int:
            return int(await self.redis.xack(self.stream, self.group, *entry_ids))

        return await self._guarded(ack, 0)

    async def deliveries(self, entry_id: str) -> int:
        """How many times the entry was delivered (1 on its first delivery)."""
        rows = await self.redis.xpending_range(self.stream, self.group, min=entry_id, max=entry_id, count=1)
        return int(rows[0]["times_delivered"]) if rows else 1

    async def backlog(self) -> dict[str, int]:
        """Pending (delivered, unacknowledged) and lag (not yet delivered) for the group."""
        for group in await self.redis.xinfo_groups(self.stream):
            if as_text(group["name"]) == self.group:
                return {"pending": int(group["pending"]), "lag": int(group.get("lag") or 0)}
        return {"pending": 0, "lag": 0}

    # --- internals --------------------------------------------------------------------------

    async def _keep_present(self, raw: list[Any]) -> list[Entry]:
        """The entries that still exist; those trimmed from the stream are acknowledged."""
        entries: list[Entry] = []
        gone: list[Any] = []
        for entry_id, fields in raw:
            (entries.append((as_text(entry_id), fields)) if fields else gone.append(entry_id))
        if gone:
            await self.redis.xack(self.stream, self.group, *gone)
        return entries

    async def _guarded(self, call: Callable[[], Awaitable[T]], gone: T) -> T:
        """``call()``; if the group is gone, recreate it, rejoin and return ``gone``."""
        try:
            return await call()
        except ResponseError as exc:
            if not group_lost(exc):
                raise
        log.warning("consumer group vanished (Redis flushed?); recreating", stream=self.stream, group=self.group)
        self._claim_cursor = _CURSOR_START
        self.recreated += 1
        await self.join()
        return gone
