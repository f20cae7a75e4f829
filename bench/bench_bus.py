"""Event bus: publish -> handler latency in another process, and throughput, beside raw redis-py.

    .venv/bin/python -m bench.bench_bus

Anchors (TARGETS.md): raw asyncio pub/sub p50 0.30 ms / p99 1.0 ms; pipelined raw ~35,000 msg/s.
Targets: p50 <= 0.5 ms, p99 <= 2 ms; throughput >= 0.8x raw.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time

from redis.asyncio import Redis

from bench.common import pct, private_redis, table
from shared.events import EventBus
from shared.keys import event_channel
from shared.redis import connect

N_LATENCY = 2000
N_THROUGHPUT = 20000
RESULTS = "bench:bus:results"

SUBSCRIBER = r"""
import asyncio, json, sys, time
from redis.asyncio import Redis
from shared.events import EventBus
from shared.redis import connect
from shared.keys import event_channel

async def main(url, mode, event_type, expected):
    redis = await connect(url)
    latencies, first, last = [], None, None
    done = asyncio.Event()
    def seen(sent_ns):
        nonlocal first, last
        now = time.time_ns()
        first = first or now
        last = now
        latencies.append((now - sent_ns) / 1e6)
        if len(latencies) >= expected:
            done.set()
    if mode == "bus":
        bus = EventBus(redis, source="bench")
        async def handler(env):
            seen(env.data["sent_ns"])
        bus.subscribe(event_type, handler)
        await bus.start()
        await redis.rpush("bench:ready", 1)
        await done.wait()
        await bus.stop()
    else:
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(event_channel(event_type))
        await redis.rpush("bench:ready", 1)
        async for message in pubsub.listen():
            seen(json.loads(message["data"])["sent_ns"])
            if done.is_set():
                break
    await redis.rpush("bench:bus:results", json.dumps({"lat": latencies, "first": first, "last": last}))

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
"""


async def run_case(url: str, mode: str, event_type: str, n: int, burst: bool) -> dict[str, object]:
    redis: Redis = await connect(url)
    await redis.delete("bench:ready", RESULTS)
    proc = subprocess.Popen([sys.executable, "-c", SUBSCRIBER, url, mode, event_type, str(n)])
    await redis.blpop(["bench:ready"], timeout=20)
    await asyncio.sleep(0.2)
    bus = EventBus(redis, source="bench")

    def payload() -> dict[str, object]:
        return {"tool_name": "bench", "version": 1, "sent_ns": time.time_ns()}

    started = time.time_ns()
    if burst and mode == "bus":
        for start in range(0, n, 500):
            await bus.publish_many(event_type, [payload() for _ in range(start, min(n, start + 500))])
    elif burst:
        for start in range(0, n, 500):
            async with redis.pipeline(transaction=False) as pipe:
                for _ in range(start, min(n, start + 500)):
                    pipe.publish(event_channel(event_type), json.dumps({"sent_ns": time.time_ns()}))
                await pipe.execute()
    else:
        for _ in range(n):
            if mode == "bus":
                await bus.publish(event_type, payload())
            else:
                await redis.publish(event_channel(event_type), json.dumps({"sent_ns": time.time_ns()}))
            await asyncio.sleep(0.0005)  # a steady trickle: latency, not queueing
    _key, raw = await redis.blpop([RESULTS], timeout=60)
    proc.wait(10)
    await redis.aclose()
    result = json.loads(raw)
    result["rate"] = n / ((result["last"] - started) / 1e9)
    return result


async def main(rounds: int = 3) -> None:
    """Latency once per path; throughput alternated between paths ``rounds`` times (medians)."""
    paths = [("raw redis-py pub/sub", "raw", "bench_event"),
             ("EventBus, live-only type", "bus", "bench_event"),
             ("EventBus, journaled type (pub/sub + stream)", "bus", "tool_created")]
    with private_redis() as server:
        latency = [await run_case(server.url, mode, event_type, N_LATENCY, burst=False)
                   for _label, mode, event_type in paths]
        rates: list[list[float]] = [[] for _ in paths]
        for _ in range(rounds):
            for i, (_label, mode, event_type) in enumerate(paths):
                rates[i].append((await run_case(server.url, mode, event_type, N_THROUGHPUT, burst=True))["rate"])
    rows = [[label, pct(lat["lat"], 50), pct(lat["lat"], 99), round(statistics.median(r))]
            for (label, _m, _t), lat, r in zip(paths, latency, rates, strict=True)]
    table(f"publish -> handler in another process (ms); burst throughput (msg/s, median of {rounds} alternated)",
          ["path", "p50 ms", "p99 ms", "msg/s"], rows)
    raw_rate = rows[0][3]
    for row in rows[1:]:
        print(f"{row[0]}: throughput {row[3] / raw_rate:.2f}x raw (target >= 0.8x); "
              f"p50 {row[1]:.3f} ms (target <= 0.5), p99 {row[2]:.3f} ms (target <= 2)")


if __name__ == "__main__":
    asyncio.run(main())
