"""Input that used to make the API answer 500: each gets a 4xx with a message."""

from __future__ import annotations

import httpx
import pytest

HUGE = 9223372036854775807


@pytest.mark.parametrize("path", ["/v1/tasks", "/v1/tools", "/v1/fine-tunes", "/v1/codex/proposals"])
async def test_a_huge_offset_is_a_422(api: httpx.AsyncClient, path: str) -> None:
    response = await api.get(path, params={"offset": HUGE})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", "offset"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
async def test_a_non_finite_number_is_a_422(api: httpx.AsyncClient, number: str) -> None:
    body = '{"args": {}, "version": ' + number + "}"
    response = await api.post("/v1/tools/anything/invoke", content=body,
                              headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "version"]


async def test_an_unpaired_surrogate_is_a_422(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/tasks", content='{"text": "a\\udcff"}', headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert "unicode" in response.json()["detail"][0]["msg"]
