"""Process liveness: a heartbeat per process in Redis, how many are alive, and the health check.

Every long-running process beats as ``(service, instance)``, the instance being
``hostname:pid`` (``instance_id()``), so N replicas on one host count separately:

* services run by ``shared.service_runner`` (motivator, curator) beat from ``beat_forever``;
* arq workers beat from their health check (``shared.queues.worker.WakeableWorker``), as the
  kind of their queue (``cognition``, ``tool_forge``, ``fine_tune``).

A beat (``beat``) sets ``heartbeat_key(service, instance)`` with a TTL of three intervals and
records the instance in ``heartbeats_index(service)`` with its expiry in Redis time, in one
script: ``alive_count`` counts the unexpired entries without scanning the keyspace, whatever
the hosts' clocks say. A process that stops cleanly removes its beat (``stop_beating``); one
that dies drops out within the TTL. The container health check, ``python -m shared.heartbeat
<service>``, passes while a process of that service on this host beats.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from typing import TYPE_CHECKING, Any

import structlog

from shared.keys import heartbeat_key, heartbeats_index
from shared.redis_values import as_text
from shared.settings import BaseServiceSettings

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = structlog.get_logger(__name__)

BEAT_INTERVAL_S = 10.0
TTL_INTERVALS = 3  # a beat lives for three intervals: one or two missed beats are not a death
FORGET_AFTER_S = 24 * 3600  # index entries that expired this long ago are removed

# KEYS: heartbeat key, index; ARGV: value, ttl s, instance, forget-after s
_BEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[4]))
return 1
"""


def instance_id() -> str:
    """This process: ``hostname:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def ttl_for(interval_s: float) -> int:
    return max(1, round(interval_s * TTL_INTERVALS))


async def beat(redis: Redis, service: str, instance: str, ttl_s: int) -> None:
    """Record that ``instance`` of ``service`` is alive for the next ``ttl_s`` seconds."""
    await redis.eval(_BEAT, 2, heartbeat_key(service, instance), heartbeats_index(service),
                     repr(time.time()), ttl_s, instance, FORGET_AFTER_S)


async def stop_beating(redis: Redis, service: str, instance: str) -> None:
    """Remove the beat of an instance that stops cleanly (it is not alive any more)."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(heartbeat_key(service, instance))
        pipe.zrem(heartbeats_index(service), instance)
        await pipe.execute()


async def redis_now(redis: Redis) -> float:
    seconds, micros = await redis.time()
    return float(seconds) + float(micros) / 1_000_000


async def alive_instances(redis: Redis, service: str, now: float | None = None) -> list[str]:
    """The instances of ``service`` whose beat has not expired (``now``: Redis time, read if omitted)."""
    now = await redis_now(redis) if now is None else now
    members = await redis.zrangebyscore(heartbeats_index(service), now, "+inf")
    return sorted(as_text(m) for m in members)


async def alive_counts(redis: Redis, services: list[str]) -> dict[str, int]:
    """How many processes of each service are alive now (one round trip for all)."""
    now = await redis_now(redis)
    async with redis.pipeline(transaction=False) as pipe:
        for service in services:
            pipe.zcount(heartbeats_index(service), now, "+inf")
        counts: list[Any] = await pipe.execute()
    return {service: int(count) for service, count in zip(services, counts, strict=True)}


async def beat_forever(settings: BaseServiceSettings, interval_s: float = BEAT_INTERVAL_S) -> None:
    """Refresh this process's heartbeat until cancelled; Redis outages are logged, not fatal."""
    from shared.redis import connect  # here: shared.redis -> shared.queues.worker imports this module

    service, instance, ttl_s = settings.service_name, instance_id(), ttl_for(interval_s)
    redis = None
    try:
        while True:
            try:
                redis = redis or await connect(settings.redis_url, retries=0)
                await beat(redis, service, instance, ttl_s)
            except Exception as exc:  # keep beating once Redis is back
                log.warning("heartbeat not written", error=str(exc))
            await asyncio.sleep(interval_s)
    finally:
        if redis is not None:
            try:
                await stop_beating(redis, service, instance)
            except Exception as exc:  # Redis away at shutdown: the beat expires by itself
                log.debug("heartbeat not removed", error=str(exc))
            await redis.aclose()


async def is_alive(settings: BaseServiceSettings, service: str) -> bool:
    """Whether a process of ``service`` on this host beats."""
    from shared.redis import connect

    redis = await connect(settings.redis_url, retries=0)
    try:
        host = socket.gethostname() + ":"
        candidates = [i for i in await alive_instances(redis, service) if i.startswith(host)]
        if not candidates:
            return False
        async with redis.pipeline(transaction=False) as pipe:
            for instance in candidates:
                pipe.exists(heartbeat_key(service, instance))
            return any(await pipe.execute())
    finally:
        await redis.aclose()


def main() -> None:
    """``python -m shared.heartbeat SERVICE``: exit 0 while a SERVICE process on this host beats."""
    service = sys.argv[1]
    try:
        alive = asyncio.run(is_alive(BaseServiceSettings(), service))
    except Exception as exc:
        print(f"{service}: cannot read heartbeat: {exc}", file=sys.stderr)
        sys.exit(1)
    print(f"{service}: {'alive' if alive else 'no heartbeat'}")
    sys.exit(0 if alive else 1)


if __name__ == "__main__":
    main()
