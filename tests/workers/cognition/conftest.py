"""Cognition settings pointing at the test Redis and the fake Ollama, with distinct persona models."""

from __future__ import annotations

import pytest

from tests.support.fake_ollama import FakeOllama
from tests.support.redis_server import RedisServer
from workers.cognition.settings import CognitionSettings


@pytest.fixture
def cognition_settings(live_redis: RedisServer, fake_ollama: FakeOllama) -> CognitionSettings:
    return CognitionSettings(redis_url=live_redis.url, ollama_host=fake_ollama.host, environment="test",
                             llm_timeout_s=5.0, alfred_ollama_model="judge:1b", cognition_retry_delay_s=0.0,
                             cognition_llm_tries=2)
