"""Redis restarted twice while tasks arrive over HTTP: every process carries on by itself, /healthz
says 503 while Redis is away and ok soon after, and every task the API accepted is answered."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.redis import connect
from shared.stores.status import RunStatus
from shared.stores.tasks import TaskStore
from tests.chaos.replicas import Replicas
from tests.support.eventually import eventually
from tests.support.fake_ollama import FakeOllama
from tests.support.processes import ServiceProcess
from tests.support.redis_server import RedisServer, free_port
from tests.workers.cognition.helpers import personas

pytestmark = [pytest.mark.chaos, pytest.mark.slow, pytest.mark.timeout(400)]

TOKEN = "chaos-token"
JUDGE = "judge:1b"
DOWN_S = 2.0
RESTARTS = 2


def _llm(body: dict[str, Any]) -> Any:
    if body.get("model") == JUDGE:  # the curator's judge: a plain rejection
        return ('{"logical_rigor": 0.5, "creative_synthesis": 0.5, "task_efficacy": 0.5, '
                '"golden_score": 0.5, "reasons": "fine"}')
    return personas()(body)


class Load:
    """Posts a task every ``every_s`` and probes /healthz, recording what the API said and when."""

    def __init__(self, client: httpx.AsyncClient, every_s: float = 0.1):
        self.client, self.every_s = client, every_s
        self.accepted: list[str] = []
        self.refused: list[int] = []
        self.health: list[tuple[float, int]] = []

    async def post_tasks(self, stop: asyncio.Event) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                reply = await self.client.post("/v1/tasks", json={"text": f"question {n}"})
            except httpx.HTTPError:
                self.refused.append(0)
            else:
                if reply.status_code == 202:
                    self.accepted.append(reply.json()["id"])
                else:
                    assert reply.status_code == 503, reply.text  # Redis away: refused, never a 500
                    self.refused.append(reply.status_code)
            await asyncio.sleep(self.every_s)

    async def probe_health(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                code = (await self.client.get("/healthz")).status_code
            except httpx.HTTPError:
                code = 0
            self.health.append((time.time(), code))
            await asyncio.sleep(0.1)

    def healthy_again_after(self, since: float) -> float | None:
        return next((t - since for t, code in self.health if t >= since and code == 200), None)


async def test_every_process_survives_redis_restarts_under_load(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    fake_ollama.on_chat(_llm)
    fake_ollama.chat_delay_s = 0.05
    server = RedisServer(data_dir=str(tmp_path))
    server.start()
    port = free_port()
    env = {"BATOS_REDIS_URL": server.url, "BATOS_OLLAMA_HOST": fake_ollama.host, "BATOS_ENVIRONMENT": "test",
           "BATOS_DATA_DIR": str(tmp_path / "data"), "BATOS_QUEUE_IN_PROGRESS_LEASE_S": "4",
           "BATOS_API_TOKEN": TOKEN, "BATOS_API_PORT": str(port), "BATOS_CURATOR_JUDGE_MODEL": JUDGE,
           "BATOS_CURATOR_FSYNC": "false", "BATOS_LLM_TIMEOUT_S": "30"}
    api = ServiceProcess("services.api", env, name="api-chaos").start()
    cognition = Replicas("workers.cognition", env, count=2, name="cognition-chaos")
    others = [Replicas("services.curator", env, count=1, name="curator-chaos"),
              Replicas("services.motivator", env, count=1, name="motivator-chaos")]
    redis = await connect(server.url)
    stop = asyncio.Event()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10,
                                 headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        load = Load(client)
        try:
            await asyncio.gather(cognition.start(), *(r.start() for r in others))
            await eventually(lambda: _status(client, 200), within_s=60, every=0.2)
            loops = [asyncio.create_task(load.post_tasks(stop)), asyncio.create_task(load.probe_health(stop))]
            outages = []
            for _ in range(RESTARTS):
                await asyncio.sleep(5)
                server.stop()  # SIGTERM: Redis writes its append-only file and exits
                down_at = time.time()
                await asyncio.sleep(DOWN_S)
                server.start()
                outages.append((down_at, time.time()))
            await asyncio.sleep(5)
            stop.set()
            await asyncio.gather(*loops)
            await redis.aclose()
            redis = await connect(server.url)  # a client made after the restarts
            store = TaskStore(redis)

            async def all_answered() -> bool:
                return all([(await store.get(i)).status == RunStatus.SUCCEEDED for i in load.accepted])

            await eventually(all_answered, within_s=120, every=0.5)
            alive = {"api": api.alive(), "cognition": cognition.all_alive(),
                     **{r.name: r.all_alive() for r in others}}
            assert all(alive.values()), (alive, cognition.output(), api.output()[-3000:])
        finally:
            stop.set()
            codes = [api.stop(), *cognition.stop(), *(c for r in others for c in r.stop())]
            await redis.aclose()
            server.stop()
    # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught (exit -15) as it documents
    assert codes[0] in (0, -signal.SIGTERM) and codes[1:] == [0] * (len(codes) - 1), codes
    refused_in_outage = [code for t, code in load.health if any(a <= t <= b for a, b in outages)]
    assert 503 in refused_in_outage  # /healthz said Redis was away
    recovery = [load.healthy_again_after(back) for _down, back in outages]
    assert all(r is not None and r < 30 for r in recovery), recovery
    print(f"\n{RESTARTS} Redis restarts ({DOWN_S:.0f} s down each): {len(load.accepted)} tasks accepted, all "
          f"answered; {len(load.refused)} refused while Redis was away; /healthz ok "
          f"{', '.join(f'{r:.2f}' for r in recovery if r is not None)} s after each restart")
    assert len(load.accepted) > 50


async def _status(client: httpx.AsyncClient, code: int) -> bool:
    try:
        return (await client.get("/healthz")).status_code == code
    except httpx.HTTPError:
        return False
