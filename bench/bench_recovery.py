"""Recovery with the production lease: a cognition worker SIGKILLed in the first second of a job.

The job's claim is one lease long from pickup (60 s by default), renewed every third of it; a
new worker started at once takes the job when the claim runs out. Anchor: the lease itself
(the job should be answered within lease + one task's time after the kill). Before step 7 a
kill in that first window left a claim of the longest job timeout + 10 s (910 s).

    .venv/bin/python -m bench.bench_recovery
"""

from __future__ import annotations

import asyncio
import time

from bench.common import private_redis, table
from shared.redis import connect
from shared.settings import BaseServiceSettings
from shared.stores.status import RunStatus
from shared.stores.tasks import TaskRecord, TaskStore
from shared.task_intake import submit_task
from tests.support.fake_ollama import FakeOllama
from tests.support.processes import ServiceProcess
from tests.workers.cognition.helpers import personas

CHAT_DELAY_S = 2.0


async def measure(redis_url: str, ollama: FakeOllama) -> tuple[float, float]:
    env = {"BATOS_REDIS_URL": redis_url, "BATOS_OLLAMA_HOST": ollama.host, "BATOS_ENVIRONMENT": "test"}
    redis = await connect(redis_url)
    store = TaskStore(redis)
    first = ServiceProcess("workers.cognition", env, name="bench-recovery-1").start()
    await asyncio.to_thread(first.wait_for_output, "worker starting", 60)
    task, _ = await submit_task(redis, store, TaskRecord(text="a question"))
    while (await store.get(task.id)).status != RunStatus.RUNNING:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.5)  # half a second into the job: before any lease renewal
    first.kill()
    killed = time.time()
    second = ServiceProcess("workers.cognition", env, name="bench-recovery-2").start()
    try:
        while (record := await store.get(task.id)).status != RunStatus.SUCCEEDED:
            await asyncio.sleep(0.1)
    finally:
        second.stop()
        await redis.aclose()
    return (record.finished_at or time.time()) - killed, BaseServiceSettings().queue_in_progress_lease_s


def main() -> None:
    ollama = FakeOllama()
    ollama.on_chat(personas())
    ollama.chat_delay_s = CHAT_DELAY_S
    ollama.start()
    try:
        with private_redis() as server:
            answered_in, lease = asyncio.run(measure(server.url, ollama))
    finally:
        ollama.stop()
    table("a cognition worker SIGKILLed 0.5 s into a job, a new worker started at once",
          ["figure", "seconds", "anchor"],
          [["kill -> task answered", answered_in, f"lease {lease:.0f} s + one task (~{3 * CHAT_DELAY_S:.0f} s)"]])


if __name__ == "__main__":
    main()
