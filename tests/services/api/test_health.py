from __future__ import annotations

import httpx

from tests.support.redis_server import RedisServer


async def test_healthz_is_503_while_redis_is_down(api: httpx.AsyncClient, live_redis: RedisServer) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok", "redis": "ok"}
    live_redis.stop(kill=True)
    down = await api.get("/healthz")
    assert down.status_code == 503 and down.json()["status"] == "unavailable"
    tasks = await api.post("/v1/tasks", json={"text": "while down"})
    assert tasks.status_code == 503 and "unavailable" in tasks.json()["detail"]
    live_redis.start()
    assert (await api.get("/healthz")).status_code == 200
