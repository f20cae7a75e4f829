"""A worker kind declared once (``WorkerKind``) runs as a real arq worker with the shared hooks."""

from __future__ import annotations

import asyncio
import functools
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import structlog
from redis.exceptions import ConnectionError as RedisConnectionError

from shared.queues import WakeableWorker, enqueue
from shared.queues.declaration import JobSpec, Sweep, WorkerKind
from shared.settings import BaseServiceSettings

QUEUE = "batos:queue:test-declared"
REPO = Path(__file__).resolve().parents[3]
calls: list[tuple[str, int]] = []


async def flaky(ctx: dict[str, Any], item_id: str) -> str:
    """Loses Redis on its first try, then works."""
    calls.append((item_id, ctx["job_try"]))
    structlog.get_logger("test").info("working on it")
    if ctx["job_try"] == 1:
        raise RedisConnectionError("Connection reset by peer")
    return f"done {item_id}"


async def always_lost(ctx: dict[str, Any], item_id: str) -> str:
    calls.append((item_id, ctx["job_try"]))
    raise RedisConnectionError("gone for good")


sweeps: list[float] = []


async def sweep_nothing(ctx: dict[str, Any]) -> int:
    sweeps.append(time.monotonic())
    return 0


async def slow(ctx: dict[str, Any], item_id: str) -> str:
    await asyncio.sleep(30)
    return item_id


def declared(settings_class: type[BaseServiceSettings] = BaseServiceSettings) -> WorkerKind[BaseServiceSettings]:
    return WorkerKind(
        name="test", queue=QUEUE, settings_class=settings_class,
        jobs=lambda s: [JobSpec(flaky, "flaky", timeout_s=10, max_tries=3, retry_delay_s=0.01,
                                log_ids={"item_id": "item"}),
                        JobSpec(always_lost, "always_lost", timeout_s=10, max_tries=2, retry_delay_s=0.01),
                        JobSpec(slow, "slow", timeout_s=60, max_tries=1)],
        max_jobs=lambda s: 4, sweep=Sweep(sweep_nothing, every_s=0.2),
    )


async def run_burst(settings: BaseServiceSettings) -> None:
    worker = WakeableWorker(**{**declared().worker_kwargs(settings), "burst": True, "poll_delay": 0,
                               "handle_signals": False})
    try:
        await worker.main()
    finally:
        await worker.close()


async def test_a_declared_job_runs_with_ids_on_every_log_line_and_redis_loss_retried(
        redis, settings: BaseServiceSettings) -> None:
    calls.clear()
    job = await enqueue(redis, QUEUE, "flaky", "item-7", idempotency_key="declared-1")
    assert job is not None
    with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        await run_burst(settings)
    assert calls == [("item-7", 1), ("item-7", 2)]  # the hook turned the lost Redis into a retry
    assert await job.result(timeout=5) == "done item-7"
    mine = [e for e in logs if e["event"] == "working on it"]
    assert [(e["worker"], e["job"], e["job_id"], e["job_try"], e["item"]) for e in mine] == [
        ("test", "flaky", "declared-1", 1, "item-7"), ("test", "flaky", "declared-1", 2, "item-7")]
    ends = [(e["event"], e["job_try"]) for e in logs if e["event"].startswith("job ")]
    assert ends == [("job lost Redis", 1), ("job deferred", 1), ("job done", 2)] or \
        ends == [("job lost Redis", 1), ("job done", 2)], ends
    done = next(e for e in logs if e["event"] == "job done")
    assert done["outcome"] == "done item-7" and done["duration_s"] >= 0


async def test_redis_loss_on_the_last_try_fails_the_job(redis, settings: BaseServiceSettings) -> None:
    calls.clear()
    job = await enqueue(redis, QUEUE, "always_lost", "item-8", idempotency_key="declared-2")
    assert job is not None
    await run_burst(settings)
    assert calls == [("item-8", 1), ("item-8", 2)]
    info = await job.result_info()
    assert info is not None and info.success is False and "gone for good" in str(info.result)


def test_the_declaration_gives_arq_its_options(settings: BaseServiceSettings) -> None:
    kwargs = declared().worker_kwargs(settings, {"extra": 1})
    assert kwargs["queue_name"] == QUEUE and kwargs["max_jobs"] == 4
    assert kwargs["ctx"] == {"extra": 1, "settings": settings}
    assert [f.name for f in kwargs["functions"]] == ["flaky", "always_lost", "slow"]
    assert [(f.max_tries, f.timeout_s) for f in kwargs["functions"]] == [(3, 10), (2, 10), (1, 60)]
    assert "cron_jobs" not in kwargs  # the sweep is no job: it must not wait behind busy slots


async def test_the_sweep_runs_once_a_round_across_replicas_beside_busy_slots(
        redis, settings: BaseServiceSettings) -> None:
    """Two replicas, every slot of both busy with a long job: the sweep still runs, one replica per round."""
    sweeps.clear()
    workers = [WakeableWorker(**{**declared().worker_kwargs(settings), "max_jobs": 1, "handle_signals": False})
               for _ in range(2)]
    for n in range(2):
        await enqueue(redis, QUEUE, "slow", f"busy-{n}", idempotency_key=f"busy-{n}")
    running = [asyncio.create_task(w.main()) for w in workers]
    try:
        await asyncio.sleep(2.1)  # ~10 rounds of 0.2 s
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        for worker in workers:
            await worker.close()
    assert 3 <= len(sweeps) <= 11, sweeps  # about one a round (~10), not one per replica per round (~20)


async def test_arq_check_reads_the_generated_worker_settings(redis, settings: BaseServiceSettings) -> None:
    """What the compose health check runs: it fails until a worker of that queue reports health."""
    env = {"BATOS_REDIS_URL": settings.redis_url, "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "arq", "--check", "workers.fine_tune.worker.WorkerSettings"]
    check = functools.partial(subprocess.run, command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    before = await asyncio.to_thread(check)
    assert before.returncode == 1 and "no health check sentinel" in before.stderr, before.stderr
    await redis.set("batos:queue:fine_tune:health-check", b"Dec-25 j_complete=0 j_failed=0 queued=0", ex=60)
    after = await asyncio.to_thread(check)
    assert after.returncode == 0, after.stdout + after.stderr
