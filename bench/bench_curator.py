"""Curator throughput: interactions curated per second, one in-process curator, real Redis.

    .venv/bin/python -m bench.bench_curator

Half the interactions are golden (one rubric call + two vote calls, the votes concurrent), half
are not (one rubric call). The judge is the fake Ollama server over real HTTP: "instant" means
it answers at once, so the figure is the curator's own overhead (HTTP to the fake, Redis,
fsynced appends); with a 200 ms judge, the ideal is ``concurrency / 0.3 s`` (0.2 s for a
rejected interaction, 0.4 s for a golden one), which shows how well LLM calls overlap.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import socket
import tempfile
import threading
import time
from typing import Any

from services.curator.service import Curator
from services.curator.settings import CuratorSettings
from shared.keys import CURATION_VERDICTS
from shared.llm.client import LLMClient
from shared.redis import connect
from shared.stores.interactions import Contribution, Interaction, InteractionLog
from tests.support.fake_ollama import FakeOllama
from tests.support.redis_server import RedisServer, free_port

JUDGE = "judge:1b"


def alfred(body: dict[str, Any]) -> str:
    text = body["messages"][-1]["content"]
    if "Which contribution" in body["messages"][0]["content"]:
        return json.dumps({"persona": "BRICK", "reason": "logic"})
    golden = int(text.split("item-")[1].split(":")[0]) % 2 == 0
    return json.dumps({"logical_rigor": 0.9, "creative_synthesis": 0.9, "task_efficacy": 0.9,
                       "golden_score": 0.9 if golden else 0.3, "reasons": "ok"})


def interactions(n: int) -> list[Interaction]:
    return [Interaction(id=f"i{k}", task_id=f"t{k}", task=f"item-{k}: question {k}", response=f"answer {k}",
                        contributions=[Contribution(persona="BRICK", model="m", content=f"logic {k}"),
                                       Contribution(persona="ROBIN", model="m", content=f"answer {k}")])
            for k in range(n)]


async def measure(redis_url: str, fake: FakeOllama, n: int, concurrency: int, fsync: bool = True) -> float:
    redis = await connect(redis_url)
    await redis.flushall()
    log = InteractionLog(redis)
    for item in interactions(n):
        await log.append(item)
    with tempfile.TemporaryDirectory() as data_dir:
        settings = CuratorSettings(redis_url=redis_url, ollama_host=fake.host, data_dir=data_dir,
                                   curator_judge_model=JUDGE, curator_concurrency=concurrency,
                                   curator_trigger_size=100_000, curator_fsync=fsync, log_level="WARNING")
        llm = LLMClient(fake.host, 30)
        curator = Curator(settings, redis, llm, consumer="bench")
        stop = asyncio.Event()
        started = time.perf_counter()
        task = asyncio.create_task(curator.serve(stop))
        while await redis.xlen(CURATION_VERDICTS) < n:
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - started
        stop.set()
        await task
        await llm.aclose()
    await redis.aclose()
    return n / elapsed


def serve_fake(port: int, delay_s: float) -> None:
    """The fake judge in its own process, so it does not share the curator's CPU and GIL."""
    fake = FakeOllama(models=[JUDGE], port=port)
    fake.chat_delay_s = delay_s
    fake.on_chat(alfred)
    fake.start()
    threading.Event().wait()


def start_fake(delay_s: float) -> tuple[multiprocessing.Process, FakeOllama]:
    handle = FakeOllama(models=[JUDGE], port=free_port())  # only its host/port; serve_fake runs it
    proc = multiprocessing.get_context("fork").Process(target=serve_fake, args=(handle.port, delay_s), daemon=True)
    proc.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", handle.port), timeout=0.2):
                return proc, handle
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("fake Ollama did not start")


async def main() -> None:
    from shared.logs import configure_logging

    configure_logging("WARNING", json=False)
    server = RedisServer()
    server.start()
    procs = []
    try:
        rows = []
        proc, fake = start_fake(0.0)
        procs.append(proc)
        for concurrency, fsync in ((1, True), (4, True), (16, True), (16, False)):
            rate = await measure(server.url, fake, 1000, concurrency, fsync)
            rows.append(("instant", concurrency, "on" if fsync else "off", rate, "-"))
        proc, fake = start_fake(0.2)
        procs.append(proc)
        for concurrency, n in ((1, 20), (4, 60), (16, 240)):
            rate = await measure(server.url, fake, n, concurrency)
            rows.append(("200 ms", concurrency, "on", rate, f"{rate / (concurrency / 0.3):.0%}"))
        print("\n## Curator throughput (one process; half golden: 1 rubric + 2 concurrent vote calls)")
        print(f"{'judge':8} {'conc':>4} {'fsync':>5} {'curated/s':>10} {'of ideal':>8}")
        for judge, concurrency, fsync_, rate, ideal in rows:
            print(f"{judge:8} {concurrency:>4} {fsync_:>5} {rate:>10.1f} {ideal:>8}")
    finally:
        for proc in procs:
            proc.terminate()
        server.stop()


if __name__ == "__main__":
    asyncio.run(main())
