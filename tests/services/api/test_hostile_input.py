"""Input that used to make the API answer 500: each gets a 4xx with a message."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.conftest import API_TOKEN

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


async def test_a_declared_oversized_body_is_a_413_before_it_is_read(api: httpx.AsyncClient) -> None:
    """Only the headers are sent (Content-Length 200 MB): the answer comes without any body read."""
    host, port = api.base_url.host, api.base_url.port
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"POST /v1/tasks HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {200 << 20}\r\n\r\n".encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.read(4096), 30)
    writer.close()
    assert head.startswith(b"HTTP/1.1 413") and b"over the limit" in head, head


async def test_a_chunked_oversized_body_is_a_413_while_it_is_read(api: httpx.AsyncClient) -> None:
    """A body sent in chunks without a length is refused once it crosses the limit, mid-upload."""
    host, port = api.base_url.host, api.base_url.port
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"POST /v1/tasks HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                 f"Authorization: Bearer {API_TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
    answer = asyncio.create_task(reader.read(4096))
    chunk = b"y" * 65_536
    sent = 0
    while not answer.done() and sent < 64 * len(chunk):  # 4 MiB at most, the limit is 1 MiB
        writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        try:
            await writer.drain()
        except ConnectionError:
            break
        sent += len(chunk)
        await asyncio.sleep(0.01)
    head = await asyncio.wait_for(answer, 30)
    writer.close()
    assert head.startswith(b"HTTP/1.1 413"), head
    assert sent <= (1 << 20) + 4 * len(chunk)  # refused soon after the limit, not at the end


async def test_a_body_under_the_limit_still_works(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/tasks", json={"text": "small enough"})
    assert response.status_code == 202
