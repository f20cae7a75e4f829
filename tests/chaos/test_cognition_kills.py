"""Cognition workers killed with SIGKILL mid-task, again and again: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from shared.keys import INTERACTIONS_STREAM
from shared.stores.interactions import Interaction
from shared.stores.status import RunStatus
from shared.stores.tasks import TaskRecord, TaskStore
from shared.task_intake import submit_task
from tests.chaos.conftest import LEASE_S, SCALE
from tests.chaos.replicas import Replicas
from tests.support.eventually import eventually
from tests.support.fake_ollama import FakeOllama
from tests.workers.cognition.helpers import personas

pytestmark = [pytest.mark.chaos, pytest.mark.slow, pytest.mark.timeout(400 * SCALE)]

TASKS = 60 * SCALE
KILLS = 10 * SCALE
KILL_EVERY_S = 1.5
FINAL_WITHIN_S = 240  # every task final by then, even on a busy 2-core machine


async def test_killed_cognition_workers_lose_nothing_and_answer_each_task_once(
        redis, fake_ollama: FakeOllama, chaos_env: dict[str, str]) -> None:
    fake_ollama.on_chat(personas())
    fake_ollama.chat_delay_s = 0.3  # three chats a task: a kill lands mid-task
    workers = Replicas("workers.cognition", {**chaos_env, "BATOS_COGNITION_MAX_JOBS": "2"}, count=2,
                       name="cognition")
    await workers.start()
    store = TaskStore(redis)
    try:
        ids = [(await submit_task(redis, store, TaskRecord(text=f"question {n}")))[0].id for n in range(TASKS)]
        for _ in range(KILLS):
            await asyncio.sleep(KILL_EVERY_S)
            await workers.kill_one()
        last_kill = time.time()

        async def all_final() -> list[TaskRecord] | None:
            tasks = [await store.get(i) for i in ids]
            return tasks if all(t.status in (RunStatus.SUCCEEDED, RunStatus.FAILED) for t in tasks) else None

        tasks = await eventually(all_final, within_s=FINAL_WITHIN_S, every=0.2)
        assert workers.all_alive(), workers.output()
    finally:
        workers.stop()

    assert [t.status for t in tasks] == [RunStatus.SUCCEEDED] * TASKS, [t.error for t in tasks if t.error]
    logged = Counter(Interaction.model_validate_json(fields[b"interaction"]).task_id
                     for _id, fields in await redis.xrange(INTERACTIONS_STREAM))
    assert sorted(logged) == sorted(ids) and set(logged.values()) == {1}  # one interaction per task
    rerun = [t for t in tasks if t.attempts > 1]
    recovered_in = max(t.finished_at for t in tasks) - last_kill
    print(f"\n{KILLS} kills over {TASKS} tasks: {len(rerun)} tasks re-run after a kill; "
          f"all final {recovered_in:.1f} s after the last kill (lease {LEASE_S} s)")
    assert rerun, "no kill landed mid-task: the test proved nothing"
