"""Cognition's metrics: in process (the registry), and scraped over HTTP from ``python -m workers.cognition``."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client.parser import text_string_to_metric_families

from shared.keys import JOB_ANSWER_TASK, QUEUE_COGNITION, EventType
from shared.stores.status import RunStatus
from shared.stores.tasks import TaskRecord, TaskStore
from shared.task_intake import submit_task
from tests.support.eventually import eventually
from tests.support.fake_ollama import FakeOllama
from tests.support.metrics import sample
from tests.support.processes import ServiceProcess
from tests.support.redis_server import free_port
from tests.workers.cognition.helpers import AGREE, CLASH, personas, run_cognition
from workers.cognition.settings import CognitionSettings

BASE, JUDGE = "llama3.2:3b", "judge:1b"


def llm_calls(model: str, persona: str) -> float:
    return sample("batos_llm_call_seconds_count", model=model, persona=persona, outcome="ok")


async def test_answers_feed_the_dissonance_llm_and_job_metrics(
    redis, fake_ollama: FakeOllama, cognition_settings: CognitionSettings
) -> None:
    fake_ollama.on_chat(personas(verdict=lambda body: CLASH if "clash" in body["messages"][-1]["content"] else AGREE))
    store = TaskStore(redis)
    before = {
        "dissonance": sample("batos_dissonance_count"), "dissonance_sum": sample("batos_dissonance_sum"),
        "high": sample("batos_dissonance_bucket", le="0.8"),
        "done": sample("batos_jobs_total", worker="cognition", job=JOB_ANSWER_TASK, outcome="done"),
        "BRICK": llm_calls(BASE, "BRICK"), "ROBIN": llm_calls(BASE, "ROBIN"), "ALFRED": llm_calls(JUDGE, "ALFRED"),
        "completed": sample("batos_events_published_total", type=EventType.TASK_COMPLETED),
    }
    for text in ("a clash of views", "a calm question"):
        await submit_task(redis, store, TaskRecord(text=text))

    await run_cognition(cognition_settings)

    assert sample("batos_dissonance_count") - before["dissonance"] == 2
    assert round(sample("batos_dissonance_sum") - before["dissonance_sum"], 6) == 1.0  # 0.9 + 0.1
    assert sample("batos_dissonance_bucket", le="0.8") - before["high"] == 1  # only the calm one is <= 0.8
    assert sample("batos_jobs_total", worker="cognition", job=JOB_ANSWER_TASK, outcome="done") - before["done"] == 2
    assert llm_calls(BASE, "BRICK") - before["BRICK"] == 2 and llm_calls(BASE, "ROBIN") - before["ROBIN"] == 2
    assert llm_calls(JUDGE, "ALFRED") - before["ALFRED"] == 2  # the verdicts; no inquiry, so no codex draft
    assert sample("batos_events_published_total", type=EventType.TASK_COMPLETED) - before["completed"] == 2


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_a_worker_process_serves_its_metrics_on_the_metrics_port(
    redis, live_redis, fake_ollama: FakeOllama
) -> None:
    fake_ollama.on_chat(personas(verdict=CLASH))
    port = free_port()
    env = {"BATOS_REDIS_URL": live_redis.url, "BATOS_ENVIRONMENT": "test", "BATOS_OLLAMA_HOST": fake_ollama.host,
           "BATOS_ALFRED_OLLAMA_MODEL": JUDGE, "BATOS_METRICS_PORT": str(port),
           "BATOS_QUEUE_HEALTH_CHECK_INTERVAL_S": "1"}
    worker = ServiceProcess("workers.cognition", env, name="cognition-metrics").start()
    try:
        await asyncio.to_thread(worker.wait_for_output, "worker starting")
        store = TaskStore(redis)
        task, _ = await submit_task(redis, store, TaskRecord(text="What is 2 + 2?"))

        async def answered() -> bool:
            return (await store.get(task.id)).status == RunStatus.SUCCEEDED

        await eventually(answered)

        async def scraped_after_the_next_health_check() -> dict | None:
            got = await asyncio.to_thread(scrape, port)
            return got if got.get(("batos_queue_depth", (("queue", QUEUE_COGNITION),))) == 0 else None

        metrics = await eventually(scraped_after_the_next_health_check, within_s=15, every=0.2)
    finally:
        assert worker.stop() == 0, worker.output()[-2000:]
    job = (("job", JOB_ANSWER_TASK), ("outcome", "done"), ("worker", "cognition"))
    assert metrics[("batos_jobs_total", job)] == 1
    assert metrics[("batos_job_seconds_count", job)] == 1
    for model, persona in ((BASE, "BRICK"), (BASE, "ROBIN"), (JUDGE, "ALFRED")):
        labels = (("model", model), ("outcome", "ok"), ("persona", persona))
        assert metrics[("batos_llm_call_seconds_count", labels)] == 1, persona
    assert metrics[("batos_dissonance_count", ())] == 1 and metrics[("batos_dissonance_sum", ())] == 0.9
    assert metrics[("batos_queue_oldest_age_seconds", (("queue", QUEUE_COGNITION),))] == 0
    assert metrics[("batos_events_published_total", (("type", EventType.TASK_COMPLETED.value),))] == 1
    assert f'"port": {port}' in worker.output() and "metrics served" in worker.output()
