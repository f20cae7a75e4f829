"""Walk the OpenAPI document: each answer a route gives is declared for it, status and content type.

For every operation: without the token (401 on /v1), with unknown ids and a valid body (404 where
a route reads by id), a body that is not JSON (422) or nested too deeply (400), a body over the
limit (413), a huge integer in each integer query parameter (422). OPTIONS on each path lists
every method of the path in ``Allow``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.conftest import API_TOKEN

HUGE = "9223372036854775807"
VALID_BODIES = {
    "/v1/tasks": {"text": "a task"},
    "/v1/tools": {"description": "adds two numbers"},
    "/v1/fine-tunes": {"persona": "BRICK", "dataset_version": "no-such-version"},
    "/v1/tools/{name}/invoke": {"args": {}},
}
DEEP = b"[" * 100_000 + b"]" * 100_000


def requests_for(path: str, method: str, op: dict[str, Any], max_body: int) -> list[tuple[str, dict[str, Any]]]:
    """(why, request keyword arguments) for each error this operation should answer."""
    url = path.format(**{p["name"]: "no-such-id" for p in op.get("parameters", []) if p["in"] == "path"})
    token = {"Authorization": f"Bearer {API_TOKEN}"}
    json_type = {**token, "Content-Type": "application/json"}
    out: list[tuple[str, dict[str, Any]]] = [
        ("no token", {"url": url}),
        ("over the body limit", {"url": url, "headers": {**json_type, "Content-Length": str(max_body + 1)}}),
    ]
    if "requestBody" in op:
        out += [("valid body", {"url": url, "headers": token, "json": VALID_BODIES.get(path, {})}),
                ("not JSON", {"url": url, "headers": json_type, "content": b"{not json"}),
                ("nested too deeply", {"url": url, "headers": json_type, "content": DEEP})]
    else:
        out.append(("no body", {"url": url, "headers": token}))
    for param in op.get("parameters", []):
        if param["in"] == "query" and "integer" in str(param["schema"]):
            out.append((f"huge {param['name']}", {"url": url, "headers": token, "params": {param["name"]: HUGE}}))
    return out


async def head_only(port: int, method: str, url: str, headers: dict[str, str]) -> tuple[int, str]:
    """Send only a request head (its body is never sent) and read the answer's status and media type."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(f"{method.upper()} {url} HTTP/1.1\r\nHost: test\r\n{lines}\r\n".encode())
    head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)).decode().lower()
    writer.close()
    media_type = head.split("content-type:", 1)[1].split("\r\n", 1)[0].split(";")[0].strip()
    return int(head.split()[1]), media_type


async def answer(client: httpx.AsyncClient, method: str, kwargs: dict[str, Any]) -> tuple[int, str]:
    """Status and media type; a stream (SSE) is closed once its head has arrived."""
    if "Content-Length" in kwargs.get("headers", {}):
        return await head_only(client.base_url.port or 80, method, kwargs["url"], kwargs["headers"])
    async with client.stream(method.upper(), **kwargs) as response:
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        if media_type != "text/event-stream":
            await response.aread()
        return response.status_code, media_type


async def test_every_answer_is_declared(api_server: Any, api_settings: Any) -> None:
    async with httpx.AsyncClient(base_url=api_server.url, timeout=30) as client:
        spec = (await client.get("/openapi.json")).json()
        seen: dict[str, set[int]] = {}
        undeclared = []
        for path, operations in spec["paths"].items():
            for method, op in operations.items():
                for why, kwargs in requests_for(path, method, op, api_settings.api_max_body_bytes):
                    status, media_type = await answer(client, method, kwargs)
                    seen.setdefault(why, set()).add(status)
                    declared = op["responses"].get(str(status))
                    if declared is None or (media_type and media_type not in declared.get("content", {})):
                        undeclared.append(f"{method.upper()} {path} ({why}): {status} {media_type}")
    assert not undeclared, "\n".join(undeclared)
    assert seen["no token"] >= {401} and seen["over the body limit"] == {413}
    assert seen["not JSON"] == {422} and seen["nested too deeply"] == {400}
    assert seen["huge offset"] == {422} and 404 in seen["valid body"] | seen["no body"]


@pytest.mark.parametrize("method", ["OPTIONS", "PUT", "DELETE"])
async def test_allow_lists_every_method_of_the_path(api: httpx.AsyncClient, method: str) -> None:
    spec = (await api.get("/openapi.json")).json()
    for path, operations in spec["paths"].items():
        declared = {m.upper() for m in operations}
        if method in declared:
            continue
        response = await api.request(method, path.replace("{", "").replace("}", ""))
        assert response.status_code == 405, (path, response.status_code)
        assert set(response.headers["allow"].split(", ")) == declared, (path, response.headers["allow"])
        assert method in response.json()["detail"]
