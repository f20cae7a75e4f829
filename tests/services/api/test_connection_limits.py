"""Connection-level attacks over raw sockets against the API as ``python -m services.api`` serves it.

A request head over ``api_max_head_bytes`` gets a 431; a head not complete within
``api_head_timeout_s`` gets a 408 (an idle connection is just closed); past
``api_limit_concurrency`` connections uvicorn answers 503.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from services.api.settings import ApiSettings
from tests.conftest import API_TOKEN
from tests.services.api.guarded_server import GuardedApiServer

HEAD_TIMEOUT_S = 1.0
SLACK_S = 10.0  # a busy 2-core machine


@pytest.fixture
def quick_server(api_settings: ApiSettings, redis: object) -> Iterator[GuardedApiServer]:
    server = GuardedApiServer(api_settings.model_copy(update={"api_head_timeout_s": HEAD_TIMEOUT_S,
                                                               "api_body_timeout_s": HEAD_TIMEOUT_S}))
    server.start()
    yield server
    server.stop()


async def read_answer(reader: asyncio.StreamReader, within_s: float = 30) -> bytes:
    """Whatever the server wrote before closing (a reset after its answer counts as closed)."""
    data = b""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            chunk = await asyncio.wait_for(reader.read(65_536), deadline - time.monotonic())
        except ConnectionError:
            break
        if not chunk:
            break
        data += chunk
    return data


async def send_head(port: int, head: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        await writer.drain()
    except ConnectionError:
        pass
    answer = await read_answer(reader)
    writer.close()
    return answer


async def test_a_head_over_the_limit_is_a_431_with_the_limit(api_server: GuardedApiServer) -> None:
    answer = await send_head(api_server.port, b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Pad: " + b"a" * 100_000)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"over the limit of 65536 bytes" in answer


async def test_a_complete_head_just_over_the_limit_in_one_write_is_a_431(api_server: GuardedApiServer) -> None:
    answer = await send_head(api_server.port, b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Pad: " + b"a" * 70_000
                             + b"\r\n\r\n")  # as curl sends it: the whole head in one read
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]


async def test_a_head_under_the_limit_is_served(api_server: GuardedApiServer) -> None:
    answer = await send_head(api_server.port, b"GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX-Pad: "
                             + b"a" * 60_000 + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]


async def test_parallel_huge_headers_are_cut_short(api_server: GuardedApiServer) -> None:
    """Four 32 MB headers, as fast as they can be sent: each connection ends long before its end."""

    async def attack() -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", api_server.port)
        sent = 0
        try:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Pad: ")
            while sent < 32 << 20:
                writer.write(b"a" * (1 << 20))
                await writer.drain()
                sent += 1 << 20
        except ConnectionError:
            pass
        answer = await read_answer(reader)
        writer.close()
        assert answer == b"" or answer.startswith(b"HTTP/1.1 431 "), answer[:200]
        return sent

    started = time.monotonic()
    sent = await asyncio.gather(*(attack() for _ in range(4)))
    assert max(sent) < 16 << 20 and time.monotonic() - started < 20
    async with httpx.AsyncClient(base_url=api_server.url) as client:
        assert (await client.get("/healthz")).status_code == 200


async def test_slowloris_connections_are_closed_while_the_api_answers(quick_server: GuardedApiServer) -> None:
    """200 half-sent heads, each trickling a header line: all closed after the head timeout."""
    conns = [await asyncio.open_connection("127.0.0.1", quick_server.port) for _ in range(200)]
    started = time.monotonic()
    for _, writer in conns:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: a\r\n")
    async with httpx.AsyncClient(base_url=quick_server.url) as client:
        assert (await client.get("/healthz")).status_code == 200  # meanwhile

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> tuple[bytes, float]:
        while not reader.at_eof() and time.monotonic() - started < HEAD_TIMEOUT_S + SLACK_S:
            try:
                writer.write(b"X-Slow: 1\r\n")
                await writer.drain()
                return await asyncio.wait_for(read_answer(reader), 0.3), time.monotonic() - started
            except TimeoutError:
                continue
            except ConnectionError:
                break
        return b"", time.monotonic() - started

    results = await asyncio.gather(*(trickle(r, w) for r, w in conns))
    for _, writer in conns:
        writer.close()
    assert all(took < HEAD_TIMEOUT_S + SLACK_S for _, took in results), max(t for _, t in results)
    answered = [answer for answer, _ in results if answer]
    assert answered and all(a.startswith(b"HTTP/1.1 408 ") and b"not complete within 1 s" in a for a in answered)


async def test_an_idle_connection_is_closed_after_the_head_timeout(quick_server: GuardedApiServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", quick_server.port)
    started = time.monotonic()
    assert await read_answer(reader, HEAD_TIMEOUT_S + SLACK_S) == b""
    assert HEAD_TIMEOUT_S * 0.9 <= time.monotonic() - started < HEAD_TIMEOUT_S + SLACK_S
    writer.close()


async def test_a_keep_alive_connection_gets_a_new_head_timeout(quick_server: GuardedApiServer) -> None:
    """After a response the next head has its own timeout, not what is left of the first."""
    reader, writer = await asyncio.open_connection("127.0.0.1", quick_server.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
    first = await asyncio.wait_for(reader.readuntil(b"}"), 10)
    assert first.startswith(b"HTTP/1.1 200 ")
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: a\r\n")  # the second head never ends
    assert (await read_answer(reader, HEAD_TIMEOUT_S + SLACK_S)).startswith(b"HTTP/1.1 408 ")
    writer.close()


async def test_past_the_concurrency_limit_uvicorn_answers_503(api_settings: ApiSettings, redis: object) -> None:
    server = GuardedApiServer(api_settings.model_copy(update={"api_limit_concurrency": 10}))
    server.start()
    try:
        held = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(12)]
        async with httpx.AsyncClient(base_url=server.url) as client:
            response = await client.get("/healthz")
        assert response.status_code == 503 and response.headers["content-type"].startswith("text/plain")
        for _, writer in held:
            writer.close()
    finally:
        server.stop()


async def test_a_body_read_with_its_head_is_not_counted_as_head(api: httpx.AsyncClient) -> None:
    """Head and a 300 kB body sent in one write: the body's own limits answer, not the head's."""
    response = await api.post("/v1/tasks", json={"text": "x" * 300_000})
    assert response.status_code == 422 and "the limit is 2000" in response.text


async def test_a_body_that_stops_arriving_gets_a_408(quick_server: GuardedApiServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", quick_server.port)
    writer.write(b"POST /v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Authorization: Bearer " + API_TOKEN.encode() + b"\r\n"
                 b"Content-Length: 100\r\n\r\n{\"text\": ")  # the head, then a fraction of the body
    await writer.drain()
    started = time.monotonic()
    answer = await read_answer(reader, within_s=HEAD_TIMEOUT_S + SLACK_S)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"request body not received within" in answer
    assert time.monotonic() - started < HEAD_TIMEOUT_S + SLACK_S
