"""Work queues: enqueue -> job start latency and no-op jobs/s, our worker beside arq's defaults.

    .venv/bin/python -m bench.bench_queue

Each worker runs in its own process. Anchors (TARGETS.md): arq defaults (poll_delay 0.5 s)
273 / 500 ms; poll_delay 0.01: 8.5 / 14 ms but 100 polls/s. Targets: p50 <= 5 ms, p99 <= 20 ms
with an idle worker using <= 1% CPU; >= 1,000 no-op jobs/s in one worker process.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from bench.common import pct, private_redis, table
from shared.queues import enqueue
from shared.redis import connect

QUEUE = "bench:queue"
N_LATENCY = 200
N_THROUGHPUT = 5000

WORKER = r"""
import sys, time
from arq.worker import Worker
from shared.queues import WakeableWorker, worker_options
from shared.settings import BaseServiceSettings

async def started(ctx, sent_ns):
    await ctx["redis"].rpush("bench:lat", (time.time_ns() - sent_ns) / 1e6)

async def noop(ctx):
    return None

url, kind, poll = sys.argv[1], sys.argv[2], float(sys.argv[3])
settings = BaseServiceSettings(redis_url=url, queue_poll_delay_s=poll)
opts = {**worker_options(settings, "bench:queue"), "functions": [started, noop], "keep_result": 0}
if kind == "arq":
    opts.update(poll_delay=poll, max_jobs=10)  # arq's own loop, arq's default concurrency
    opts.pop("in_progress_lease_s")  # ours alone
    Worker(**opts).run()
else:
    WakeableWorker(**opts).run()
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks of 10 ms


async def measure(url: str, kind: str, poll: float) -> list[object]:
    redis = await connect(url)
    await redis.flushall()
    proc = subprocess.Popen([sys.executable, "-c", WORKER, url, kind, str(poll)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not await redis.exists(QUEUE + ":health-check"):
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        await asyncio.sleep(5)
        idle_cpu = (cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - t0) * 100
        for _ in range(N_LATENCY):
            await enqueue(redis, QUEUE, "started", time.time_ns())
            await asyncio.sleep(0.01 if poll < 0.2 else poll * 0.37)  # off the poll grid
        while await redis.llen("bench:lat") < N_LATENCY:
            await asyncio.sleep(0.05)
        lat = [float(x) for x in await redis.lrange("bench:lat", 0, -1)]
        proc.terminate()  # queue the whole batch first, then time a fresh worker draining it
        proc.wait(30)
        for start in range(0, N_THROUGHPUT, 250):
            await asyncio.gather(*(redis.enqueue_job("noop", _queue_name=QUEUE)
                                   for _ in range(start, min(N_THROUGHPUT, start + 250))))
        await redis.delete(QUEUE + ":health-check")
        proc = subprocess.Popen([sys.executable, "-c", WORKER, url, kind, str(poll)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while await redis.zcard(QUEUE) == N_THROUGHPUT:
            await asyncio.sleep(0.001)
        t0 = time.monotonic()
        while await redis.zcard(QUEUE) > 0:
            await asyncio.sleep(0.01)
        rate = N_THROUGHPUT / (time.monotonic() - t0)
    finally:
        proc.terminate()
        proc.wait(30)
        await redis.aclose()
    return [pct(lat, 50), pct(lat, 99), round(idle_cpu, 2), round(rate)]


async def main() -> None:
    with private_redis() as server:
        rows = [
            ["arq Worker, defaults (poll 0.5 s, max_jobs 10)", *await measure(server.url, "arq", 0.5)],
            ["arq Worker, poll 0.01 s", *await measure(server.url, "arq", 0.01)],
            ["WakeableWorker (wake-up + 1 s fallback poll, max_jobs 100)",
             *await measure(server.url, "wakeable", 1.0)],
        ]
    table("enqueue -> job start (ms), idle worker CPU (%), no-op jobs/s (one process)",
          ["worker", "p50 ms", "p99 ms", "idle CPU %", "jobs/s"], rows)


if __name__ == "__main__":
    asyncio.run(main())
