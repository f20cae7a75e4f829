"""A process beats while it runs, as ``hostname:pid``; replicas count separately; the container
health check reads the beat of this host's processes."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

from shared.heartbeat import alive_counts, alive_instances, beat, instance_id, stop_beating
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
        assert motivator.process is not None
        instance = f"{socket.gethostname()}:{motivator.process.pid}"
        await eventually(lambda: redis.exists(heartbeat_key("motivator", instance)), within_s=20)
        assert await alive_instances(redis, "motivator") == [instance]
        alive = health_check(env)
    finally:
        assert motivator.stop() == 0
    assert alive.returncode == 0 and "alive" in alive.stdout
    # a clean stop removes the beat at once: no stale "alive" for the TTL
    assert await alive_counts(redis, ["motivator"]) == {"motivator": 0}
    assert not await redis.exists(heartbeat_key("motivator", instance))
    dead = health_check(env)
    assert dead.returncode == 1 and "no heartbeat" in dead.stdout


async def test_replicas_on_one_host_count_separately_and_a_dead_one_expires(redis) -> None:
    host = socket.gethostname()
    assert instance_id() == f"{host}:{os.getpid()}"
    await beat(redis, "curator", f"{host}:101", ttl_s=30)
    await beat(redis, "curator", f"{host}:102", ttl_s=1)  # dies: never beats again
    await beat(redis, "motivator", f"{host}:103", ttl_s=30)
    assert await alive_counts(redis, ["curator", "motivator", "cognition"]) == {
        "curator": 2, "motivator": 1, "cognition": 0}
    await asyncio.sleep(1.2)
    assert await alive_instances(redis, "curator") == [f"{host}:101"]
    await stop_beating(redis, "curator", f"{host}:101")
    assert await alive_counts(redis, ["curator"]) == {"curator": 0}
