"""``batos status`` renders ``GET /v1/status``: the verdict and why, Redis, the LLM server, the
sandbox, each queue (depth, running, oldest waiting, workers alive), services, tasks, personas."""

from __future__ import annotations

import time

import httpx

from shared.heartbeat import beat
from shared.keys import QUEUE_COGNITION
from shared.status import publish_sandbox_probe
from tests.cli.conftest import Batos
from tests.support.redis_server import RedisServer


async def test_status_shows_queues_workers_services_sandbox_llm_and_personas(
    batos: Batos, api: httpx.AsyncClient, redis
) -> None:
    for instance in ("host-a:1", "host-a:2"):
        await beat(redis, "cognition", instance, ttl_s=30)
    await beat(redis, "tool_forge", "host-a:3", ttl_s=30)
    await beat(redis, "motivator", "host-a:4", ttl_s=30)
    await publish_sandbox_probe(redis, None)
    task_id = (await api.post("/v1/tasks", json={"text": "one"})).json()["id"]
    await redis.zadd(QUEUE_COGNITION, {f"task:{task_id}": time.time() * 1000 - 75_000}, xx=True)

    result = await batos("status")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()

    def row(*words: str) -> str:
        [found] = [line for line in lines if all(w in line for w in words)]
        return found

    def queue_row(kind: str) -> list[str]:
        tables = [[c for c in line.split() if c not in ("│", "┃")] for line in lines]
        [found] = [cells for cells in tables if cells[:2] == [kind, f"batos:queue:{kind}"]]
        return found

    assert "degraded" in row("system")
    assert row("no fine_tune worker alive (0 jobs in batos:queue:fine_tune)")
    assert "ok" in row("redis") and "reachable" in row("llm") and "reachable" in row("sandbox", "probed")
    assert "motivator 1 alive, curator 0 alive" in row("services")
    assert "1 queued, 0 running, 0 succeeded, 0 failed" in row("tasks")
    assert row("oldest queued task")
    depth, running, oldest, alive = queue_row("cognition")[-4:]
    assert (depth, running, alive) == ("1", "0", "2") and oldest.startswith("1m1")  # waited 75 s
    assert queue_row("tool_forge")[-4:] == ["0", "0", "-", "1"]
    assert queue_row("fine_tune")[-1] == "0"
    assert "llama3.2:3b" in row("BRICK")


async def test_status_says_unreachable_parts_and_unknown_sandbox(batos: Batos, redis) -> None:
    result = await batos("status")
    assert result.exit_code == 0, result.output
    assert "unknown: no tool-forge worker probed it" in result.stdout
    await publish_sandbox_probe(redis, "the Docker engine has no 'runsc' runtime")
    result = await batos("status")
    assert "unreachable: the Docker engine has no 'runsc' runtime" in result.stdout
    assert "sandbox unreachable:" in result.stdout  # among the reasons


async def test_status_exits_1_when_the_system_is_down(batos: Batos, live_redis: RedisServer) -> None:
    live_redis.stop(kill=True)
    try:
        result = await batos("status")
    finally:
        live_redis.start()
    assert result.exit_code == 1
    assert "down" in result.stdout and result.stderr.startswith("error: the system is down: redis unreachable")
