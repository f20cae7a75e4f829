"""``GET /v1/status``: queues, workers alive per kind, services, sandbox, LLM and personas, over HTTP."""

from __future__ import annotations

import time

import httpx

from shared.heartbeat import beat
from shared.keys import JOB_ANSWER_TASK, QUEUE_COGNITION
from shared.queues import enqueue
from shared.status import publish_sandbox_probe
from tests.support.redis_server import RedisServer


async def test_status_needs_the_token(api_server) -> None:
    async with httpx.AsyncClient(base_url=api_server.url, timeout=10) as anonymous:
        assert (await anonymous.get("/v1/status")).status_code == 401


async def test_status_shows_each_part_of_the_system(api: httpx.AsyncClient, redis) -> None:
    for instance in ("host-a:1", "host-a:2"):  # two cognition replicas on one host
        await beat(redis, "cognition", instance, ttl_s=30)
    await beat(redis, "tool_forge", "host-a:3", ttl_s=30)
    await beat(redis, "curator", "host-a:4", ttl_s=30)
    await publish_sandbox_probe(redis, None)
    await enqueue(redis, QUEUE_COGNITION, JOB_ANSWER_TASK, "t1", idempotency_key="task:t1")
    await redis.zadd(QUEUE_COGNITION, {"task:t1": time.time() * 1000 - 12_000})

    answer = await api.get("/v1/status")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "degraded"
    assert body["reasons"] == ["no fine_tune worker alive (0 jobs in batos:queue:fine_tune)"]
    assert body["redis"] == "ok" and body["llm"] == {"reachable": True, "error": None}
    assert body["sandbox"]["reachable"] is True and body["sandbox"]["error"] is None
    assert time.time() - body["sandbox"]["checked_at"] < 10
    queues = {q["kind"]: q for q in body["queues"]}
    assert list(queues) == ["cognition", "tool_forge", "fine_tune"]
    cognition = queues["cognition"]
    assert (cognition["queue"], cognition["depth"], cognition["running"], cognition["workers_alive"]) == (
        QUEUE_COGNITION, 1, 0, 2)
    assert 11 < cognition["oldest_age_s"] < 30
    assert (queues["tool_forge"]["workers_alive"], queues["fine_tune"]["workers_alive"]) == (1, 0)
    assert queues["tool_forge"]["oldest_age_s"] is None
    assert body["services"] == [{"name": "motivator", "alive": 0}, {"name": "curator", "alive": 1}]
    personas = {p["name"]: p for p in body["personas"]}
    assert set(personas) == {"BRICK", "ROBIN", "ALFRED"}
    assert personas["BRICK"]["model"] == personas["BRICK"]["default_model"] == "llama3.2:3b"
    assert {p["name"]: p["model"] for p in (await api.get("/v1/personas")).json()} == {
        name: p["model"] for name, p in personas.items()}


async def test_status_is_503_down_while_redis_is_away(api: httpx.AsyncClient, live_redis: RedisServer) -> None:
    live_redis.stop(kill=True)
    try:
        answer = await api.get("/v1/status")
    finally:
        live_redis.start()
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "down" and body["redis"].startswith("unreachable: ")
    assert body["llm"]["reachable"] is True and body["queues"] == [] and body["personas"] == []
