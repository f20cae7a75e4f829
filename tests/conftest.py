"""Fixtures every test may use: a real Redis it can kill, a fake Ollama, the API over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from services.api.app import create_app
from services.api.settings import ApiSettings
from shared.redis import connect
from shared.settings import BaseServiceSettings
from tests.support.fake_ollama import FakeOllama
from tests.support.redis_server import RedisServer
from tests.support.uvicorn_thread import UvicornThread

API_TOKEN = "test-token-7c1e"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def live_redis(redis_server: RedisServer) -> Iterator[RedisServer]:
    """The session's Redis, running again after a test that stopped it."""
    if redis_server.process is None or redis_server.process.poll() is not None:
        redis_server.process = None
        redis_server.start()
    yield redis_server
    if redis_server.process is None or redis_server.process.poll() is not None:
        redis_server.process = None
        redis_server.start()


@pytest.fixture
async def redis(live_redis: RedisServer) -> AsyncIterator[object]:
    """An ``ArqRedis`` client on an empty database."""
    client = await connect(live_redis.url)
    await client.flushall()
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def fake_ollama_server() -> Iterator[FakeOllama]:
    fake = FakeOllama(models=["llama3.2:3b", "judge:1b"])
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_ollama(fake_ollama_server: FakeOllama) -> FakeOllama:
    """The fake Ollama with no scripts and an empty request log."""
    fake_ollama_server.reset()
    return fake_ollama_server


@pytest.fixture
def settings(live_redis: RedisServer, fake_ollama: FakeOllama, tmp_path: Path) -> BaseServiceSettings:
    return BaseServiceSettings(redis_url=live_redis.url, ollama_host=fake_ollama.host, environment="test",
                               llm_timeout_s=5.0, data_dir=str(tmp_path))


@pytest.fixture
def api_settings(live_redis: RedisServer, fake_ollama: FakeOllama, tmp_path: Path) -> ApiSettings:
    """The API's settings; its data directory (datasets) is the test's ``tmp_path``."""
    return ApiSettings(redis_url=live_redis.url, ollama_host=fake_ollama.host, environment="test",
                       api_token=API_TOKEN, api_max_task_chars=2_000, data_dir=str(tmp_path),
                       api_health_cache_s=0)  # type: ignore[arg-type]  # each test sees health as it is now


@pytest.fixture
def api_server(api_settings: ApiSettings, redis: object) -> Iterator[UvicornThread]:
    """The API served by uvicorn over real HTTP on a free port."""
    server = UvicornThread(create_app(api_settings))
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def api(api_server: UvicornThread) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the API that sends the bearer token."""
    async with httpx.AsyncClient(base_url=api_server.url, headers={"Authorization": f"Bearer {API_TOKEN}"},
                                 timeout=10) as client:
        yield client
