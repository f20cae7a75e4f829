"""Step 2: orchestration overhead of the cognition worker, and event -> task latency in the motivator.

    .venv/bin/python -m bench.bench_cognition

The fake Ollama (tests/support) answers instantly, so tasks/s is the cost of everything around
the LLM: the arq job, three HTTP chats through the official client, the task record, the
interaction stream, the events. Workers, the motivator and the fake each run as their own
process against a private Redis. Latency is the task record's created_at minus the event's time
(one clock, one machine).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

from bench.common import median, pct, private_redis, table
from shared.events import EventBus
from shared.keys import EventType
from shared.redis import connect
from shared.stores.status import RunStatus
from shared.stores.tasks import TaskRecord, TaskStore
from shared.task_intake import submit_task
from tests.services.motivator.conftest import group_ready
from tests.support.eventually import eventually
from tests.support.redis_server import free_port

N_TASKS = 400
N_EVENTS_PACED = 200
N_EVENTS_BURST = 500

FAKE = r"""
import sys, threading
from tests.support.fake_ollama import FakeOllama
from tests.workers.cognition.helpers import personas
fake = FakeOllama(models=["llama3.2:3b"], port=int(sys.argv[1]))
fake.on_chat(personas())
fake.requests = type("Discard", (list,), {"append": lambda self, item: None})()  # no growing log
fake.start()
print("ready", flush=True)
threading.Event().wait()
"""


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, *args], env={**os.environ, "BATOS_LOG_LEVEL": "WARNING", **env},
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def stop(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        process.terminate()
        process.wait(30)


async def cognition_run(url: str, ollama: str, processes: int, max_jobs: int) -> list[object]:
    redis = await connect(url)
    await redis.flushall()
    store = TaskStore(redis)
    ids = [(await submit_task(redis, store, TaskRecord(text=f"What is {i} + {i}?")))[0].id
           for i in range(N_TASKS)]
    env = {"BATOS_REDIS_URL": url, "BATOS_OLLAMA_HOST": ollama, "BATOS_COGNITION_MAX_JOBS": str(max_jobs)}
    workers = [spawn(["-m", "workers.cognition"], env) for _ in range(processes)]

    async def finished() -> bool:
        return await store.count(RunStatus.SUCCEEDED) + await store.count(RunStatus.FAILED) >= N_TASKS

    try:
        await eventually(finished, within_s=300, every=0.05)
    finally:
        stop(*workers)
    tasks = [await store.get(i) for i in ids]
    await redis.aclose()
    failed = sum(t.status != RunStatus.SUCCEEDED for t in tasks)
    span = max(t.finished_at or 0 for t in tasks) - min(t.started_at or 0 for t in tasks)
    per_task = [t.result["timings_s"]["total"] * 1000 for t in tasks if t.result]
    per_chat = [t.result["timings_s"]["BRICK"] * 1000 for t in tasks if t.result]
    in_llm = [sum(t.result["timings_s"][p] for p in ("BRICK", "ROBIN", "ALFRED")) * 1000 for t in tasks if t.result]
    around_llm = span / N_TASKS * 1000 * processes * max_jobs - median(in_llm)  # per task, per job slot
    return [processes, max_jobs, round(N_TASKS / span), median(per_task), pct(per_task, 99), median(per_chat),
            round(around_llm, 2), failed]


async def motivator_latency(url: str) -> list[list[object]]:
    redis = await connect(url)
    await redis.flushall()
    env = {"BATOS_REDIS_URL": url, "BATOS_MOTIVATOR_HOURLY_CAP": "1000000", "BATOS_MOTIVATOR_IDLE_AFTER_S": "3600"}
    proc = spawn(["-m", "services.motivator"], env)
    bus, store, rows = EventBus(redis, "bench"), TaskStore(redis), []
    try:
        await eventually(lambda: group_ready(redis, EventType.HIGH_COGNITIVE_DISSONANCE), within_s=30)
        for label, n, pace in (("paced, one event every 10 ms", N_EVENTS_PACED, 0.01),
                               ("burst, all published at once", N_EVENTS_BURST, 0.0)):
            sent: dict[str, float] = {}
            t0 = time.perf_counter()
            for i in range(n):
                envelope = await bus.publish(EventType.HIGH_COGNITIVE_DISSONANCE,
                                             {"task_id": f"{label[:5]}-{i}", "task": "q", "score": 0.9})
                sent[envelope.id] = envelope.time.timestamp()
                if pace:
                    await asyncio.sleep(pace)

            async def created(sent: dict[str, float] = sent, n: int = n) -> list[TaskRecord] | None:
                tasks = [t for t in await store.list(limit=2000) if t.caused_by in sent]
                return tasks if len(tasks) >= n else None

            tasks = await eventually(created, within_s=120, every=0.02)
            wall = time.perf_counter() - t0
            lat = [(t.created_at - sent[t.caused_by or ""]) * 1000 for t in tasks]
            rows.append([label, n, pct(lat, 50), pct(lat, 99), round(n / wall)])
    finally:
        stop(proc)
        await redis.aclose()
    return rows


async def main() -> None:
    port = free_port()
    fake = spawn(["-c", FAKE, str(port)], {})
    assert fake.stdout is not None and fake.stdout.readline().strip() == b"ready"
    ollama = f"http://127.0.0.1:{port}"
    try:
        with private_redis() as server:
            runs = ((1, 1), (1, 4), (1, 16), (2, 16), (4, 16))
            rows = [await cognition_run(server.url, ollama, p, j) for p, j in runs]
            table(f"cognition worker, {N_TASKS} tasks, fake Ollama (own process, instant), 3 chats per task; "
                  "'ms around LLM' = wall per task per job slot minus its 3 chats",
                  ["processes", "max_jobs", "tasks/s", "p50 task ms", "p99 task ms", "p50 chat ms",
                   "ms around LLM", "failed"], rows)
            table("motivator: high_cognitive_dissonance event -> task record (ms); paced tasks/s = the pace",
                  ["load", "events", "p50 ms", "p99 ms", "tasks/s"], await motivator_latency(server.url))
    finally:
        stop(fake)


if __name__ == "__main__":
    asyncio.run(main())
