"""Step 3: tools validated per minute through the real forge, and the tool-call round trip.

    .venv/bin/python -m bench.bench_tool_forge [N]

The fake Ollama (tests/support) answers BRICK instantly with a valid tool, so the figure is the
cost of everything around the LLM: the arq job, the chat through the official client, the code
checks, one runsc sandbox run of the tool's tests, the registry, the job record and the event.
N specs (default 12) are queued, then one burst forge worker takes them all; tools/min is N
over its wall time. Variants: jobs at a time (1, 2) and "first answer fails its tests" (two
sandbox runs and a fed-back error per tool). Then one tool call's round trip as the API and the
personas make it (an ``invoke_tool`` job run by a forge worker), beside a call in-process.
Needs the engine and image: ``bash scripts/docker_up.sh``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from bench.common import median, pct, private_redis, table
from shared.logs import configure_logging
from shared.queues import WakeableWorker
from shared.redis import connect
from shared.sandbox import Sandbox
from shared.stores.status import RunStatus
from shared.tools import ForgeJobStore, LocalInvoker, RemoteInvoker, ToolRegistry, ToolSpec, submit_tool_spec
from tests.support.fake_ollama import FakeOllama
from tests.support.tool_sources import WORD_COUNT, WORD_COUNT_BUGGY, fenced
from workers.tool_forge.settings import ToolForgeSettings
from workers.tool_forge.worker import WORKER


def brick(fail_first: bool) -> Any:
    def answer(body: dict[str, Any]) -> str:
        first = not any(m["role"] == "assistant" for m in body["messages"])
        return fenced(WORD_COUNT_BUGGY if fail_first and first else WORD_COUNT)

    return answer


async def forge_round(redis_url: str, fake: FakeOllama, sandbox: Sandbox, n: int, jobs: int,
                      fail_first: bool) -> list[object]:
    redis = await connect(redis_url)
    await redis.flushall()
    fake.reset()
    fake.on_chat(brick(fail_first))
    settings = ToolForgeSettings(redis_url=redis_url, ollama_host=fake.host, environment="test",
                                 forge_max_jobs=jobs, forge_max_invocations=1)
    ids = [(await submit_tool_spec(redis, ToolSpec(description=f"count words, take {i}")))[0].id for i in range(n)]
    worker = WakeableWorker(**{**WORKER.worker_kwargs(settings, {"sandbox": sandbox}), "burst": True, "poll_delay": 0,
                               "handle_signals": False})
    started = time.perf_counter()
    try:
        await worker.main()
    finally:
        await worker.close()
    wall = time.perf_counter() - started
    records = [await ForgeJobStore(redis).get(i) for i in ids]
    assert all(r.status is RunStatus.SUCCEEDED for r in records), [r.error for r in records]
    assert len(await ToolRegistry(redis).versions("word_count")) == n
    per_tool = [r.updated_at - r.created_at for r in records]
    attempts = [a.duration_s for r in records for a in r.attempts]
    await redis.aclose()
    return [jobs, "yes" if fail_first else "no", n, round(wall, 2), round(n / wall * 60, 1),
            median(attempts), median(per_tool)]


async def call_round(redis_url: str, sandbox: Sandbox, n: int) -> list[list[object]]:
    redis = await connect(redis_url)
    registry = ToolRegistry(redis)
    local, remote = LocalInvoker(registry, sandbox), RemoteInvoker(redis, timeout_s=30)
    settings = ToolForgeSettings(redis_url=redis_url, environment="test")
    worker = WakeableWorker(**{**WORKER.worker_kwargs(settings, {"sandbox": sandbox}), "handle_signals": False})
    running = asyncio.create_task(worker.main())
    rows = []
    try:
        for name, invoke in (("in-process sandbox (LocalInvoker)", local),
                             ("via the forge worker (RemoteInvoker)", remote)):
            times = []
            for i in range(n):
                t0 = time.perf_counter()
                result = await invoke("word_count", {"text": "to be or not to be " * (i + 1)})
                times.append(time.perf_counter() - t0)
                assert result.ok and result.value == 6 * (i + 1), result
            rows.append([name, n, median(times), pct(times, 90)])
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await worker.close()
        await redis.aclose()
    return rows


async def main() -> None:
    configure_logging("WARNING")  # the figures, not the forge's per-attempt lines
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    sandbox = Sandbox(ToolForgeSettings())
    problem = sandbox.probe()
    if problem:
        raise SystemExit(f"sandbox not available: {problem}")
    fake = FakeOllama(models=["llama3.2:3b"])
    fake.start()
    try:
        with private_redis() as server:
            rows = [await forge_round(server.url, fake, sandbox, n, jobs, fail_first)
                    for jobs, fail_first in ((1, False), (2, False), (1, True), (2, True))]
            table(f"Tools validated per minute (runsc, fake Ollama answering instantly, {n} specs)",
                  ["jobs at a time", "1st answer fails", "tools", "wall s", "tools/min",
                   "attempt median s", "spec->registered median s"], rows)
            calls = await asyncio.wait_for(call_round(server.url, sandbox, max(5, n)), 300)  # fail, never hang
            table("Tool call round trip (word_count, runsc)", ["path", "calls", "median s", "p90 s"], calls)
    finally:
        fake.stop()


if __name__ == "__main__":
    asyncio.run(main())
