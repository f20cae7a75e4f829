"""Tool calls run by a tool-forge worker (``RemoteInvoker``), and their failures as results."""

from __future__ import annotations

import asyncio

import pytest

from shared.tools import RemoteInvoker, ToolRegistry, check_tool_code
from tests.support.sandbox import unreachable_sandbox
from tests.support.tool_sources import DIVIDE
from tests.workers.tool_forge.conftest import run_forge_once_queued
from workers.tool_forge.settings import DEFAULT_ALLOWED_IMPORTS, ToolForgeSettings


@pytest.fixture
def settings(live_redis) -> ToolForgeSettings:
    return ToolForgeSettings(redis_url=live_redis.url, environment="test")


async def register_divide(redis) -> None:
    await ToolRegistry(redis).register(check_tool_code(DIVIDE, DEFAULT_ALLOWED_IMPORTS))


@pytest.mark.docker
async def test_a_remote_call_runs_in_the_workers_sandbox(redis, settings, sandbox) -> None:
    await register_divide(redis)
    invoke = RemoteInvoker(redis, timeout_s=30)
    ok, raised, _worker = await asyncio.gather(
        invoke("divide", {"a": 1, "b": 8}), invoke("divide", {"a": 1, "b": 0}),
        run_forge_once_queued(redis, settings, sandbox=sandbox))
    assert (ok.ok, ok.value, ok.version, ok.reason) == (True, 0.125, 1, "ok")
    assert (raised.ok, raised.error_type, raised.tool_failed) == (False, "ValueError", True)


async def test_bad_calls_and_no_sandbox_come_back_as_results(redis, settings) -> None:
    await register_divide(redis)
    invoke = RemoteInvoker(redis, timeout_s=30)
    missing, bad, unavailable, _worker = await asyncio.gather(
        invoke("nope", {}), invoke("divide", {"a": 1}), invoke("divide", {"a": 1, "b": 2}),
        run_forge_once_queued(redis, settings, sandbox=unreachable_sandbox()))
    assert (missing.ok, missing.error_type) == (False, "NotFound")
    assert (bad.error_type, bad.tool_failed) == ("InvalidInput", False) and "divide needs b" in (bad.error or "")
    assert unavailable.error_type == "SandboxUnavailable" and not unavailable.tool_failed


async def test_no_worker_is_a_timeout_result(redis) -> None:
    result = await RemoteInvoker(redis, timeout_s=0.2)("divide", {"a": 1, "b": 2})
    assert (result.ok, result.error_type) == (False, "Timeout")
