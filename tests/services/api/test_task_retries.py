"""While the LLM server is away a task waits for its retry, and ``GET /v1/tasks/{id}`` says so:
``queued`` with the attempts made so far and the last error; once it answers, the error goes."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.support.eventually import eventually
from tests.support.fake_ollama import FakeOllama
from tests.support.redis_server import RedisServer
from tests.workers.cognition.helpers import personas, run_cognition
from workers.cognition.settings import CognitionSettings


async def test_a_task_waiting_for_its_retry_shows_its_attempts_and_last_error(
    api: httpx.AsyncClient, live_redis: RedisServer
) -> None:
    late = FakeOllama(models=["llama3.2:3b", "judge:1b"])  # not started: its port refuses connections
    late.on_chat(personas())
    settings = CognitionSettings(redis_url=live_redis.url, ollama_host=late.host, environment="test",
                                 llm_timeout_s=5.0, alfred_ollama_model="judge:1b", cognition_llm_tries=3,
                                 cognition_retry_delay_s=1.0)
    task_id = (await api.post("/v1/tasks", json={"text": "What is 2 + 2?"})).json()["id"]
    worker = asyncio.create_task(run_cognition(settings))
    try:
        async def waiting_for_retry() -> dict[str, Any] | None:
            task = (await api.get(f"/v1/tasks/{task_id}")).json()
            return task if task["status"] == "queued" and task["attempts"] >= 1 else None

        waiting = await eventually(waiting_for_retry, within_s=30)
        assert waiting["attempts"] == 1
        assert waiting["error"].startswith(f"retrying: Ollama at {late.host} ")
        listed = (await api.get("/v1/tasks", params={"status": "queued"})).json()["items"]
        assert [(t["id"], t["attempts"], t["error"]) for t in listed] == [(task_id, 1, waiting["error"])]
        late.start()
        await asyncio.wait_for(worker, 30)
    finally:
        late.stop()
        await asyncio.gather(worker, return_exceptions=True)
    done = (await api.get(f"/v1/tasks/{task_id}")).json()
    assert (done["status"], done["attempts"], done["error"]) == ("succeeded", 2, None)
