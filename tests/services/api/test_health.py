"""``/healthz`` tells the truth: ok, degraded (200) with the reasons, down (503) when Redis is away."""

from __future__ import annotations

import asyncio

import httpx

from services.api.app import create_app
from shared.heartbeat import beat
from shared.status import publish_sandbox_probe
from tests.support.redis_server import RedisServer, free_port
from tests.support.uvicorn_thread import UvicornThread

KINDS = ("cognition", "tool_forge", "fine_tune")


async def everything_alive(redis) -> None:
    for kind in KINDS:
        await beat(redis, kind, "host:1", ttl_s=30)
    await publish_sandbox_probe(redis, None)


async def test_healthz_is_ok_with_workers_alive_and_down_503_while_redis_is_down(
    api: httpx.AsyncClient, live_redis: RedisServer, redis
) -> None:
    await everything_alive(redis)
    assert (await api.get("/healthz")).json() == {"status": "ok", "reasons": [], "redis": "ok", "llm": "ok"}
    live_redis.stop(kill=True)
    down = await api.get("/healthz")
    body = down.json()
    assert down.status_code == 503 and body["status"] == "down"
    assert body["redis"].startswith("unreachable: ") and body["reasons"] == [f"redis {body['redis']}"]
    tasks = await api.post("/v1/tasks", json={"text": "while down"})
    assert tasks.status_code == 503 and "unavailable" in tasks.json()["detail"]
    live_redis.start()
    assert (await api.get("/healthz")).status_code == 200


async def test_healthz_is_degraded_200_naming_each_queue_without_a_worker(api: httpx.AsyncClient, redis) -> None:
    await beat(redis, "cognition", "host:1", ttl_s=30)
    health = await api.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "degraded", "redis": "ok", "llm": "ok", "reasons": [
        "no tool_forge worker alive (0 jobs in batos:queue:tool_forge)",
        "no fine_tune worker alive (0 jobs in batos:queue:fine_tune)"]}


async def test_healthz_is_degraded_when_the_sandbox_probe_failed(api: httpx.AsyncClient, redis) -> None:
    await everything_alive(redis)
    await publish_sandbox_probe(redis, "Docker engine unreachable: connection refused")
    health = (await api.get("/healthz")).json()
    assert (health["status"], health["reasons"]) == (
        "degraded", ["sandbox unreachable: Docker engine unreachable: connection refused"])


async def test_healthz_is_degraded_while_the_llm_server_is_down(api_settings, redis) -> None:
    await everything_alive(redis)
    nobody = f"http://127.0.0.1:{free_port()}"
    server = UvicornThread(create_app(api_settings.model_copy(update={"ollama_host": nobody})))
    server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            degraded = await client.get("/healthz")
    finally:
        server.stop()
    assert degraded.status_code == 200
    body = degraded.json()
    assert body["status"] == "degraded" and body["llm"].startswith("unreachable: Ollama at " + nobody)
    assert body["reasons"] == ["llm " + body["llm"]]


async def test_healthz_reuses_its_report_for_a_second_under_a_flood(api_settings, redis) -> None:
    """No token is needed, so a flood must not cost one LLM ping and Redis reads per call."""
    from services.api.deps import HealthCache

    calls = 0

    async def report() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return calls

    cache = HealthCache(ttl_s=1.0)
    answers = await asyncio.gather(*(cache.get(report) for _ in range(200)))
    assert calls == 1 and set(answers) == {1}  # 200 concurrent callers, one report
    await asyncio.sleep(1.05)
    assert await cache.get(report) == 2  # a second later, a fresh one
