from __future__ import annotations

import httpx
import pytest

from tests.support.uvicorn_thread import UvicornThread


@pytest.mark.parametrize("path", ["/v1/tasks", "/v1/personas", "/v1/tasks/abc"])
async def test_protected_routes_need_the_token(api_server: UvicornThread, path: str) -> None:
    async with httpx.AsyncClient(base_url=api_server.url) as client:
        none = await client.get(path)
        wrong = await client.get(path, headers={"Authorization": "Bearer nope"})
    assert none.status_code == 401 and wrong.status_code == 401
    assert none.json()["detail"] == "missing or wrong bearer token"


async def test_health_and_metrics_are_open(api_server: UvicornThread) -> None:
    async with httpx.AsyncClient(base_url=api_server.url) as client:
        assert (await client.get("/healthz")).status_code == 200
        metrics = await client.get("/metrics")
    assert metrics.status_code == 200 and "batos_api_requests_total" in metrics.text
