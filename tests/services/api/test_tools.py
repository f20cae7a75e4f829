"""``/v1/tools`` over real HTTP: a spec forged by the worker, then read and invoked in the sandbox.

Invocation goes the production way (a tool-forge worker runs it) in the end-to-end test; the
error tests give the API a sandbox of its own so that each case needs no worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from services.api.app import create_app
from shared.sandbox import Sandbox
from shared.tools import ToolRegistry, check_tool_code
from tests.conftest import API_TOKEN
from tests.support.fake_ollama import FakeOllama
from tests.support.sandbox import real_sandbox, unreachable_sandbox
from tests.support.tool_sources import DIVIDE, WORD_COUNT, WORD_COUNT_BUGGY, fenced
from tests.support.uvicorn_thread import UvicornThread
from tests.workers.tool_forge.conftest import BRICK_MODEL, run_forge, run_forge_once_queued
from workers.tool_forge.settings import DEFAULT_ALLOWED_IMPORTS, ToolForgeSettings

SPEC = {"description": "Count the words in a text.", "name": "word_count"}


def serve(api_settings, sandbox: Sandbox | None) -> UvicornThread:
    app = create_app(api_settings)
    app.state.tool_sandbox = sandbox  # None: the production path, a tool-forge worker runs the call
    server = UvicornThread(app)
    server.start()
    return server


@pytest.fixture
def tools_server(request, api_settings, redis) -> Iterator[UvicornThread]:
    """The API invoking tools as the test asks (``@pytest.mark.parametrize`` indirect)."""
    sandboxes = {"worker": lambda: None, "local": real_sandbox, "no-sandbox": unreachable_sandbox}
    server = serve(api_settings, sandboxes[request.param]())
    yield server
    server.stop()


@pytest.fixture
async def client(tools_server: UvicornThread) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=tools_server.url, timeout=30,
                                 headers={"Authorization": f"Bearer {API_TOKEN}"}) as http:
        yield http


@pytest.mark.docker
@pytest.mark.parametrize("tools_server", ["worker"], indirect=True)
async def test_spec_to_forged_tool_to_invocation(client, redis, live_redis, fake_ollama: FakeOllama) -> None:
    accepted = await client.post("/v1/tools", json=SPEC, headers={"Idempotency-Key": "spec-1"})
    assert accepted.status_code == 202 and accepted.json()["status"] == "queued"
    job_id = accepted.json()["id"]
    assert accepted.headers["location"] == f"/v1/tools/jobs/{job_id}"
    again = await client.post("/v1/tools", json=SPEC, headers={"Idempotency-Key": "spec-1"})
    assert again.status_code == 202 and again.json()["id"] == job_id

    fake_ollama.queue(BRICK_MODEL, fenced(WORD_COUNT_BUGGY), fenced(WORD_COUNT))
    settings = ToolForgeSettings(redis_url=live_redis.url, ollama_host=fake_ollama.host, environment="test",
                                 llm_timeout_s=5.0)
    await run_forge(settings)  # its own sandbox, from settings, like the real worker

    job = (await client.get(f"/v1/tools/jobs/{job_id}")).json()
    assert (job["status"], job["tool_name"], job["version"]) == ("succeeded", "word_count", 1)
    assert [a["outcome"] for a in job["attempts"]] == ["tests_failed", "passed"]
    assert "AssertionError" in job["attempts"][0]["reason"]

    listed = (await client.get("/v1/tools")).json()
    assert listed["total"] == 1 and listed["items"][0]["signature"].startswith("word_count(text: str")
    detail = (await client.get("/v1/tools/word_count")).json()
    assert detail["source"] == WORD_COUNT.strip("\n") and "all tests passed" in detail["test_output"]
    assert [v["version"] for v in detail["versions"]] == [1] and detail["forge_job_id"] == job_id

    result, _worker = await asyncio.gather(  # the API hands the call to a tool-forge worker
        client.post("/v1/tools/word_count/invoke", json={"args": {"text": "to be or not to be"}}),
        run_forge_once_queued(redis, settings))
    assert result.status_code == 200, result.text
    assert result.json()["value"] == 6 and result.json()["version"] == 1


@pytest.mark.docker
@pytest.mark.parametrize("tools_server", ["local"], indirect=True)
async def test_invocation_errors_are_clear(client, redis) -> None:
    await ToolRegistry(redis).register(check_tool_code(DIVIDE, DEFAULT_ALLOWED_IMPORTS))
    raised = await client.post("/v1/tools/divide/invoke", json={"args": {"a": 1, "b": 0}})
    assert raised.status_code == 422
    assert raised.json()["detail"]["error_type"] == "ValueError" and "zero" in raised.json()["detail"]["error"]
    ok = await client.post("/v1/tools/divide/invoke", json={"args": {"a": 1, "b": 4}, "version": 1})
    assert ok.status_code == 200 and ok.json()["value"] == 0.25


@pytest.mark.parametrize("tools_server", ["no-sandbox"], indirect=True)
async def test_errors_without_running_anything(client, redis) -> None:
    await ToolRegistry(redis).register(check_tool_code(DIVIDE, DEFAULT_ALLOWED_IMPORTS))
    bad_args = await client.post("/v1/tools/divide/invoke", json={"args": {"a": 1}})
    assert bad_args.status_code == 422 and "divide needs b" in bad_args.json()["detail"]
    assert (await client.post("/v1/tools/nope/invoke", json={"args": {}})).status_code == 404
    assert (await client.post("/v1/tools/divide/invoke", json={"args": {}, "version": 2})).status_code == 404
    no_sandbox = await client.post("/v1/tools/divide/invoke", json={"args": {"a": 1, "b": 2}})
    assert no_sandbox.status_code == 503 and no_sandbox.json()["detail"]["error_type"] == "SandboxUnavailable"
    assert (await client.get("/v1/tools/nope")).status_code == 404
    assert (await client.get("/v1/tools/jobs/nope")).status_code == 404
    assert (await client.get("/v1/tools")).json() == {"items": [{
        "name": "divide", "version": 1, "signature": "divide(a: float, b: float) -> float",
        "description": "Divide a by b.", "created_at": (await ToolRegistry(redis).get("divide")).created_at}],
        "total": 1}


@pytest.mark.parametrize("tools_server", ["no-sandbox"], indirect=True)
async def test_bad_specs_and_no_token(client, tools_server) -> None:
    assert (await client.post("/v1/tools", json={"description": ""})).status_code == 422
    assert (await client.post("/v1/tools", json={"description": "x", "name": "Bad Name"})).status_code == 422
    async with httpx.AsyncClient(base_url=tools_server.url) as anonymous:
        assert (await anonymous.get("/v1/tools")).status_code == 401
        assert (await anonymous.post("/v1/tools/x/invoke", json={})).status_code == 401
