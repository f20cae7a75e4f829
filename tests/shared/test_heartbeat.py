"""A service process beats while it runs; its container health check reads the beat."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from shared.keys import heartbeat_key
from tests.support.eventually import eventually
from tests.support.fake_ollama import FakeOllama
from tests.support.processes import ServiceProcess
from tests.support.redis_server import RedisServer


def health_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shared.heartbeat", "motivator"], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=30)


async def test_running_service_beats_and_check_reads_it(redis, live_redis: RedisServer,
                                                        fake_ollama: FakeOllama) -> None:
    env = {"BATOS_REDIS_URL": live_redis.url, "BATOS_OLLAMA_HOST": fake_ollama.host}
    assert health_check(env).returncode == 1  # nothing running yet
    motivator = ServiceProcess("services.motivator", env).start()
    try:
        await eventually(lambda: redis.exists(heartbeat_key("motivator", socket.gethostname())), within_s=20)
        alive = health_check(env)
    finally:
        assert motivator.stop() == 0
    assert alive.returncode == 0 and "alive" in alive.stdout
    await redis.flushall()
    dead = health_check(env)
    assert dead.returncode == 1 and "no heartbeat" in dead.stdout
