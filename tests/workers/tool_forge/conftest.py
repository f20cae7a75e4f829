"""Forge settings on the test Redis and the fake Ollama, scripted BRICK answers, a burst worker."""

from __future__ import annotations

from typing import Any

import pytest

from shared.keys import QUEUE_TOOL_FORGE
from shared.queues import WakeableWorker
from shared.sandbox import Sandbox
from tests.support.eventually import eventually
from tests.support.fake_ollama import FakeOllama
from tests.support.redis_server import RedisServer
from tests.support.sandbox import real_sandbox
from tests.support.workers import run_burst
from workers.tool_forge.settings import ToolForgeSettings
from workers.tool_forge.worker import WORKER

BRICK_MODEL = "llama3.2:3b"


@pytest.fixture
def forge_settings(live_redis: RedisServer, fake_ollama: FakeOllama) -> ToolForgeSettings:
    return ToolForgeSettings(redis_url=live_redis.url, ollama_host=fake_ollama.host, environment="test",
                             llm_timeout_s=5.0, sandbox_timeout_s=5.0, forge_retry_delay_s=0.0)


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    return real_sandbox()


async def run_forge_once_queued(redis: Any, settings: ToolForgeSettings, **ctx: Any) -> WakeableWorker:
    """Wait until a job is on the tool-forge queue (a caller awaits its result), then run a burst worker."""
    await eventually(lambda: redis.zcard(QUEUE_TOOL_FORGE))
    return await run_forge(settings, **ctx)


async def run_forge(settings: ToolForgeSettings, **ctx: Any) -> WakeableWorker:
    """Run a tool-forge worker until its queue is empty (burst), then close it."""
    return await run_burst(WORKER.worker_kwargs(settings, ctx))
