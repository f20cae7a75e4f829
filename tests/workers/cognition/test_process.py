"""``python -m workers.cognition`` as its own process: answers, survives a bad answer, stops cleanly."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from shared.stores.status import RunStatus
from shared.stores.tasks import TaskRecord, TaskStore
from shared.task_intake import submit_task
from tests.support.eventually import eventually
from tests.support.fake_ollama import FakeOllama
from tests.support.processes import ServiceProcess
from tests.workers.cognition.helpers import personas


async def test_worker_process_answers_tasks_and_keeps_running_after_a_bad_answer(
    redis, live_redis, fake_ollama: FakeOllama
) -> None:
    def brick(body: dict) -> str:
        return "" if "poison" in body["messages"][-1]["content"] else "ok"

    fake_ollama.on_chat(personas(brick=brick))
    env = {"BATOS_REDIS_URL": live_redis.url, "BATOS_ENVIRONMENT": "test",
           "BATOS_OLLAMA_HOST": fake_ollama.host}
    worker = ServiceProcess("workers.cognition", env, name="cognition")
    worker.start()
    try:
        await asyncio.to_thread(worker.wait_for_output, "worker starting")
        store = TaskStore(redis)
        ids = [(await submit_task(redis, store, TaskRecord(text=text)))[0].id
               for text in ("poison pill", "fine one", "fine two")]

        async def finished() -> list[TaskRecord] | None:
            tasks = [await store.get(i) for i in ids]
            done = all(t.status in (RunStatus.SUCCEEDED, RunStatus.FAILED) for t in tasks)
            return tasks if done else None

        poisoned, *fine = await eventually(finished)
        assert poisoned.status == RunStatus.FAILED and "empty answer" in poisoned.error
        assert [t.status for t in fine] == [RunStatus.SUCCEEDED] * 2
        assert worker.alive()
        assert '"event": "task answered"' in worker.output() and '"event": "task failed"' in worker.output()
        health = await asyncio.to_thread(  # the container health check, as compose runs it
            subprocess.run, [sys.executable, "-m", "arq", "--check", "workers.cognition.worker.WorkerSettings"],
            env={**os.environ, **env}, capture_output=True, text=True, timeout=30)
        assert health.returncode == 0, health.stdout + health.stderr
    finally:
        assert worker.stop() == 0, worker.output()[-2000:]


async def test_a_worker_stopped_mid_task_hands_it_back_and_the_next_one_answers_it(
    redis, live_redis, fake_ollama: FakeOllama
) -> None:
    fake_ollama.on_chat(personas())
    fake_ollama.chat_delay_s = 3.0  # still thinking when SIGTERM arrives
    env = {"BATOS_REDIS_URL": live_redis.url, "BATOS_ENVIRONMENT": "test", "BATOS_OLLAMA_HOST": fake_ollama.host,
           "BATOS_QUEUE_JOB_COMPLETION_WAIT_S": "1"}
    first = ServiceProcess("workers.cognition", env, name="cognition-stopped").start()
    store = TaskStore(redis)
    try:
        await asyncio.to_thread(first.wait_for_output, "worker starting")
        task, _ = await submit_task(redis, store, TaskRecord(text="a long question"))

        async def running() -> bool:
            return (await store.get(task.id)).status == RunStatus.RUNNING

        await eventually(running)
    finally:
        assert first.stop() == 0, first.output()[-2000:]  # SIGTERM: waits 1 s for the job, then hands it back
    assert "will be run again" in first.output()
    assert (await store.get(task.id)).status != RunStatus.FAILED
    fake_ollama.chat_delay_s = 0.0
    second = ServiceProcess("workers.cognition", env, name="cognition-next").start()
    try:
        async def answered() -> TaskRecord | None:
            record = await store.get(task.id)
            return record if record.status in (RunStatus.SUCCEEDED, RunStatus.FAILED) else None

        record = await eventually(answered, within_s=60)
    finally:
        second.stop()
    assert record.status == RunStatus.SUCCEEDED and record.attempts == 2
