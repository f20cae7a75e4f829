"""Bad input is a 4xx with Ollama's ``{"error": "..."}`` body, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import ollama
import pytest

from tests.services.local_llm.helpers import BASE_TAG, LocalServer

pytestmark = [pytest.mark.slow]
USER = [{"role": "user", "content": "hi"}]

BAD_BODIES: list[tuple[str, str, Any, int, str]] = [
    ("POST", "/api/chat", b"{not json", 400, "invalid JSON"),
    ("POST", "/api/chat", b"", 400, "missing request body"),
    ("POST", "/api/chat", [1, 2], 400, "JSON object"),
    ("POST", "/api/chat", {"messages": USER}, 400, "model is required"),
    ("POST", "/api/chat", {"model": BASE_TAG, "messages": "hi"}, 400, "messages"),
    ("POST", "/api/chat", {"model": BASE_TAG, "messages": [{"role": "wizard", "content": "x"}]}, 400, "role"),
    ("POST", "/api/chat", {"model": BASE_TAG, "messages": [{"content": "x"}]}, 400, "role"),
    ("POST", "/api/chat", {"model": BASE_TAG, "messages": USER, "stream": "maybe"}, 400, "stream"),
    ("POST", "/api/chat", {"model": BASE_TAG, "messages": USER, "format": "xml"}, 400, "format"),
    ("POST", "/api/chat", {"model": BASE_TAG, "messages": USER, "options": {"temperature": "hot"}}, 400, "temperature"),
    ("POST", "/api/chat", {"model": BASE_TAG, "messages": USER, "options": {"top_p": 3}}, 400, "top_p"),
    ("POST", "/api/chat", {"model": BASE_TAG, "messages": USER, "options": []}, 400, "options"),
    ("POST", "/api/chat", {"model": BASE_TAG, "messages": USER, "tools": [{"function": {}}]}, 400, "name"),
    ("POST", "/api/chat", {"model": BASE_TAG, "messages": USER, "think": True}, 400, "thinking"),
    ("POST", "/api/chat", {"model": 42, "messages": USER}, 400, "model"),
    ("POST", "/api/chat", {"model": "nobody:1b", "messages": USER}, 404, "model 'nobody:1b' not found"),
    ("POST", "/api/generate", {"model": BASE_TAG, "prompt": ["a"]}, 400, "prompt"),
    ("POST", "/api/generate", {"model": BASE_TAG, "prompt": "def f():", "suffix": "return"}, 400, "insert"),
    ("POST", "/api/generate", {"model": "nobody", "prompt": "x"}, 404, "model 'nobody' not found"),
    ("POST", "/api/embed", {"model": BASE_TAG, "input": 5}, 400, "input"),
    ("POST", "/api/embed", {"model": BASE_TAG, "input": "x", "dimensions": 0}, 400, "dimensions"),
    ("POST", "/api/show", b"[", 400, "invalid JSON"),
    ("POST", "/api/show", {}, 400, "model is required"),
    ("POST", "/api/create", {"model": "x", "from": 3}, 400, "from"),
    ("POST", "/api/create", {"model": "x", "from": BASE_TAG, "adapters": ["a"]}, 400, "adapters"),
    ("POST", "/api/create", {"model": "bad name!", "from": BASE_TAG}, 400, "invalid model name"),
    ("POST", "/api/copy", {"source": BASE_TAG}, 400, "destination"),
    ("DELETE", "/api/delete", {}, 400, "model is required"),
    ("DELETE", "/api/delete", {"model": BASE_TAG}, 400, "cannot be deleted"),
    ("GET", "/api/nothing-here", None, 404, "not found"),
    ("GET", "/api/chat", None, 405, "method not allowed"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "message"), BAD_BODIES)
async def test_bad_requests_get_a_4xx_with_an_error(llm_server: LocalServer, method: str, path: str, body: Any,
                                                    status: int, message: str) -> None:
    content = body if isinstance(body, bytes) else None
    payload = None if isinstance(body, bytes) or body is None else body
    async with httpx.AsyncClient(base_url=llm_server.url, timeout=60) as http:
        response = await http.request(method, path, content=content, json=payload)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert isinstance(error, str) and message.lower() in error.lower()


async def test_the_official_client_sees_status_and_message(client: ollama.AsyncClient) -> None:
    with pytest.raises(ollama.ResponseError) as caught:
        await client.chat(model="nobody:1b", messages=USER)
    assert caught.value.status_code == 404 and caught.value.error == "model 'nobody:1b' not found"
    with pytest.raises(ollama.ResponseError) as streamed:
        async for _ in await client.chat(model="nobody:1b", messages=USER, stream=True):
            pass
    assert streamed.value.status_code == 404
