"""``/v1/tasks`` over real HTTP through uvicorn."""

from __future__ import annotations

import httpx

from shared.keys import QUEUE_COGNITION


async def test_create_then_read_task(api: httpx.AsyncClient, redis) -> None:
    created = await api.post("/v1/tasks", json={"text": "Explain entropy."})
    assert created.status_code == 202
    body = created.json()
    assert body["status"] == "queued" and body["source"] == "api"
    got = await api.get(f"/v1/tasks/{body['id']}")
    assert got.status_code == 200 and got.json()["text"] == "Explain entropy."
    assert await redis.zcard(QUEUE_COGNITION) == 1  # its job is queued for the cognition worker


async def test_list_filters_by_status(api: httpx.AsyncClient) -> None:
    ids = [(await api.post("/v1/tasks", json={"text": f"t{i}"})).json()["id"] for i in range(3)]
    listed = await api.get("/v1/tasks", params={"status": "queued"})
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()["items"]] == ids[::-1]
    assert (await api.get("/v1/tasks", params={"status": "failed"})).json() == {"items": [], "total": 0}
    bad = await api.get("/v1/tasks", params={"status": "weird"})
    assert bad.status_code == 422


async def test_idempotency_key_returns_the_same_task(api: httpx.AsyncClient, redis) -> None:
    headers = {"Idempotency-Key": "client-retry-1"}
    first = await api.post("/v1/tasks", json={"text": "once"}, headers=headers)
    second = await api.post("/v1/tasks", json={"text": "once"}, headers=headers)
    assert first.json()["id"] == second.json()["id"]
    assert await redis.zcard(QUEUE_COGNITION) == 1


async def test_bad_input_gets_4xx_with_a_message(api: httpx.AsyncClient) -> None:
    too_long = await api.post("/v1/tasks", json={"text": "x" * 2_001})
    assert too_long.status_code == 422 and "limit is 2000" in too_long.json()["detail"]
    blank = await api.post("/v1/tasks", json={"text": "   "})
    assert blank.status_code == 422 and "blank" in blank.text
    assert (await api.post("/v1/tasks", json={})).status_code == 422
    assert (await api.post("/v1/tasks", content=b"{not json", headers={"Content-Type": "application/json"})
            ).status_code == 422
    missing = await api.get("/v1/tasks/does-not-exist")
    assert missing.status_code == 404 and "not found" in missing.json()["detail"]
