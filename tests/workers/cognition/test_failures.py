"""Bad LLM answers: the task fails or degrades with a recorded reason; the worker keeps going."""

from __future__ import annotations

import asyncio

from shared.keys import EventType
from shared.stores.status import RunStatus
from shared.stores.tasks import TaskRecord, TaskStore
from shared.task_intake import submit_task
from tests.support.eventually import eventually
from tests.support.fake_ollama import Failure, FakeOllama
from tests.support.redis_server import free_port
from tests.workers.cognition.helpers import CLASH, personas, run_cognition
from tests.workers.cognition.test_answer import journal
from workers.cognition.settings import CognitionSettings


async def submit(redis, *texts: str) -> list[str]:
    store = TaskStore(redis)
    return [(await submit_task(redis, store, TaskRecord(text=text)))[0].id for text in texts]


def brick_empty_for(text: str):
    def brick(body):
        return "   " if text in body["messages"][-1]["content"] else "BRICK: fine"
    return brick


async def test_empty_brick_answer_fails_that_task_and_the_next_is_answered(
    redis, fake_ollama: FakeOllama, cognition_settings: CognitionSettings
) -> None:
    fake_ollama.on_chat(personas(brick=brick_empty_for("poisoned")))
    bad, good = await submit(redis, "poisoned question", "fine question")
    await run_cognition(cognition_settings)
    store = TaskStore(redis)
    failed = await store.get(bad)
    assert failed.status == RunStatus.FAILED and failed.finished_at is not None
    assert "BRICK (llama3.2:3b)" in failed.error and "empty answer" in failed.error
    assert (await store.get(good)).status == RunStatus.SUCCEEDED
    [event] = await journal(redis, EventType.TASK_FAILED)
    assert event.data["task_id"] == bad and "empty answer" in event.data["error"]


async def test_alfred_answer_that_is_not_json_degrades_to_no_dissonance(
    redis, fake_ollama: FakeOllama, cognition_settings: CognitionSettings
) -> None:
    fake_ollama.on_chat(personas(verdict="I'd say they mostly agree, sir."))
    [task_id] = await submit(redis, "question")
    await run_cognition(cognition_settings)
    task = await TaskStore(redis).get(task_id)
    assert task.status == RunStatus.SUCCEEDED and task.result["response"] == "ROBIN: it is 4, warmly"
    assert task.result["dissonance"] is None
    [reason] = task.result["degraded"]
    assert reason.startswith("dissonance unavailable: ALFRED answer is not JSON")


async def test_alfred_score_out_of_range_is_a_bad_answer_not_a_score(
    redis, fake_ollama: FakeOllama, cognition_settings: CognitionSettings
) -> None:
    fake_ollama.on_chat(personas(verdict={"dissonance": 7, "reason": "very"}))
    [task_id] = await submit(redis, "question")
    await run_cognition(cognition_settings)
    task = await TaskStore(redis).get(task_id)
    assert task.result["dissonance"] is None
    assert "does not match DissonanceVerdict" in task.result["degraded"][0]
    assert await journal(redis, EventType.HIGH_COGNITIVE_DISSONANCE) == []


async def test_robin_error_degrades_to_brick_answer(
    redis, fake_ollama: FakeOllama, cognition_settings: CognitionSettings
) -> None:
    fake_ollama.on_chat(personas(robin=Failure(500, "model runner crashed"), verdict=CLASH))
    [task_id] = await submit(redis, "question")
    await run_cognition(cognition_settings)
    task = await TaskStore(redis).get(task_id)
    assert task.status == RunStatus.SUCCEEDED and task.result["response"] == "BRICK: 2 + 2 = 4"
    assert "ROBIN gave no usable answer" in task.result["degraded"][0]
    assert "model runner crashed" in task.result["degraded"][0]
    assert task.result["dissonance"] is None and "ROBIN did not answer" in task.result["degraded"][1]


async def test_unreachable_ollama_retries_then_fails_each_task_with_the_reason(
    redis, live_redis, cognition_settings: CognitionSettings
) -> None:
    nowhere = cognition_settings.model_copy(update={"ollama_host": f"http://127.0.0.1:{free_port()}"})
    ids = await submit(redis, "first", "second")
    await run_cognition(nowhere)
    for task_id in ids:
        task = await TaskStore(redis).get(task_id)
        assert task.status == RunStatus.FAILED and task.attempts == 2  # cognition_llm_tries
        assert task.error.startswith("LLM unreachable after 2 tries: Ollama at http://127.0.0.1:")


async def test_ollama_back_before_the_last_try_answers_the_task(
    redis, cognition_settings: CognitionSettings
) -> None:
    late = FakeOllama(models=["llama3.2:3b", "judge:1b"])  # not started: its port refuses connections
    late.on_chat(personas())
    settings = cognition_settings.model_copy(update={"ollama_host": late.host,
                                                      "cognition_retry_delay_s": 0.3})
    [task_id] = await submit(redis, "question")
    store = TaskStore(redis)
    worker = asyncio.create_task(run_cognition(settings))
    try:
        async def retrying() -> TaskRecord | None:
            task = await store.get(task_id)
            return task if (task.error or "").startswith("retrying: Ollama at") else None

        assert (await eventually(retrying)).status == RunStatus.QUEUED
        late.start()
        await asyncio.wait_for(worker, 10)
    finally:
        late.stop()
    task = await store.get(task_id)
    assert task.status == RunStatus.SUCCEEDED and task.attempts == 2 and task.error is None
