"""Environment of the processes under chaos: short leases and claims so recovery fits in a test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.fake_ollama import FakeOllama
from tests.support.redis_server import RedisServer

LEASE_S = 4  # a killed worker's job is free again within this (production: 60 s)
# CI runs the suite at scale 1; a longer run by hand: CHAOS_SCALE=5 pytest -m chaos -s
SCALE = max(1, int(os.environ.get("CHAOS_SCALE", "1")))


@pytest.fixture
def chaos_env(live_redis: RedisServer, fake_ollama: FakeOllama, tmp_path: Path) -> dict[str, str]:
    return {"BATOS_REDIS_URL": live_redis.url, "BATOS_OLLAMA_HOST": fake_ollama.host, "BATOS_ENVIRONMENT": "test",
            "BATOS_DATA_DIR": str(tmp_path / "data"), "BATOS_QUEUE_IN_PROGRESS_LEASE_S": str(LEASE_S),
            "BATOS_QUEUE_JOB_COMPLETION_WAIT_S": "2", "BATOS_LLM_TIMEOUT_S": "30"}
