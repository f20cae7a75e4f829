"""Run ``batos`` in-process (Typer's CliRunner, on a thread) against the real API of ``api_server``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from shared.keys import event_channel
from tests.conftest import API_TOKEN
from tests.support.fake_ollama import FakeOllama
from tests.support.redis_server import RedisServer
from tests.support.uvicorn_thread import UvicornThread
from workers.cognition.settings import CognitionSettings

RUN_TIMEOUT_S = 60.0  # generous: a busy 2-core machine


@dataclass
class Batos:
    """``await batos("tasks", "--status", "queued")``: the CLI's exit code, stdout and stderr."""

    url: str
    config: Path

    def env(self, url: str | None, token: str | None) -> dict[str, str | None]:
        return {"BATOS_URL": url or self.url, "BATOS_API_TOKEN": token or API_TOKEN,
                "BATOS_CONFIG": str(self.config), "COLUMNS": "250", "XDG_CONFIG_HOME": None}

    def run(self, *args: str, url: str | None = None, token: str | None = None) -> Result:
        return CliRunner().invoke(app, list(args), env=self.env(url, token))

    async def __call__(self, *args: str, url: str | None = None, token: str | None = None,
                       timeout_s: float = RUN_TIMEOUT_S) -> Result:
        return await asyncio.wait_for(asyncio.to_thread(self.run, *args, url=url, token=token), timeout_s)


@pytest.fixture
def batos(api_server: UvicornThread, tmp_path: Path) -> Batos:
    return Batos(url=api_server.url, config=tmp_path / "no-config.toml")


@pytest.fixture
def cognition_settings(live_redis: RedisServer, fake_ollama: FakeOllama) -> CognitionSettings:
    return CognitionSettings(redis_url=live_redis.url, ollama_host=fake_ollama.host, environment="test",
                             llm_timeout_s=5.0, alfred_ollama_model="judge:1b", cognition_retry_delay_s=0.0,
                             cognition_llm_tries=2)


async def wait_until(check: Callable[[], Awaitable[bool]], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def subscribed(redis: object, event_type: str) -> bool:
    """The CLI's event stream is in place (the API subscribed to the type's channel for it)."""
    [(_channel, count)] = await redis.pubsub_numsub(event_channel(event_type))  # type: ignore[attr-defined]
    return int(count) > 0
