from __future__ import annotations

import httpx

from services.api.app import create_app
from tests.support.redis_server import RedisServer, free_port
from tests.support.uvicorn_thread import UvicornThread


async def test_healthz_is_503_while_redis_is_down(api: httpx.AsyncClient, live_redis: RedisServer) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok", "redis": "ok", "llm": "ok"}
    live_redis.stop(kill=True)
    down = await api.get("/healthz")
    assert down.status_code == 503 and down.json()["status"] == "unavailable"
    tasks = await api.post("/v1/tasks", json={"text": "while down"})
    assert tasks.status_code == 503 and "unavailable" in tasks.json()["detail"]
    live_redis.start()
    assert (await api.get("/healthz")).status_code == 200



async def test_healthz_is_degraded_while_the_llm_server_is_down(api_settings, redis) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    server = UvicornThread(create_app(api_settings.model_copy(update={"ollama_host": nobody})))
    server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            degraded = await client.get("/healthz")
    finally:
        server.stop()
    assert degraded.status_code == 200
    assert degraded.json()["status"] == "degraded" and degraded.json()["llm"].startswith("unreachable")
