"""The job hooks count and time every job by outcome, and a worker keeps its queue's gauges."""

from __future__ import annotations

import asyncio
from typing import Any

from arq import Retry
from redis.exceptions import ConnectionError as RedisConnectionError

from shared.metrics import record_queue_stats
from shared.queues import WakeableWorker, enqueue
from shared.queues.declaration import JobSpec, WorkerKind
from shared.queues.stats import QueueStat
from shared.settings import BaseServiceSettings
from tests.support.eventually import eventually
from tests.support.metrics import sample
from tests.support.workers import run_burst

QUEUE = "batos:queue:test-metrics"
KIND = "metrics-test"
release = asyncio.Event()


async def fine(ctx: dict[str, Any]) -> str:
    return "ok"


async def broken(ctx: dict[str, Any]) -> str:
    raise ValueError("a bug")


async def later(ctx: dict[str, Any]) -> str:
    if ctx["job_try"] == 1:
        raise Retry(defer=0.05)
    return "ok at last"


async def flaky(ctx: dict[str, Any]) -> str:
    if ctx["job_try"] == 1:
        raise RedisConnectionError("Connection reset by peer")
    return "ok after Redis came back"


async def slow(ctx: dict[str, Any]) -> str:
    await asyncio.sleep(30)
    return "never"


async def held(ctx: dict[str, Any]) -> str:
    await release.wait()
    return "released"


def kind(max_jobs: int = 8) -> WorkerKind[BaseServiceSettings]:
    return WorkerKind(
        name=KIND, queue=QUEUE, settings_class=BaseServiceSettings,
        jobs=lambda s: [JobSpec(fine, "fine", timeout_s=10, max_tries=1),
                        JobSpec(broken, "broken", timeout_s=10, max_tries=1),
                        JobSpec(later, "later", timeout_s=10, max_tries=3),
                        JobSpec(flaky, "flaky", timeout_s=10, max_tries=3, retry_delay_s=0.01),
                        JobSpec(slow, "slow", timeout_s=0.2, max_tries=1),
                        JobSpec(held, "held", timeout_s=30, max_tries=1)],
        max_jobs=lambda s: max_jobs,
    )


def jobs(job: str, outcome: str) -> float:
    return sample("batos_jobs_total", worker=KIND, job=job, outcome=outcome)


async def test_every_outcome_is_counted_and_timed_per_worker_and_job(redis, settings: BaseServiceSettings) -> None:
    outcomes = [("fine", "done"), ("broken", "raised"), ("later", "deferred"), ("later", "done"),
                ("flaky", "redis_lost"), ("flaky", "done"), ("slow", "cancelled")]
    before = {pair: jobs(*pair) for pair in outcomes}
    slow_before = sample("batos_job_seconds_sum", worker=KIND, job="slow", outcome="cancelled")
    for n, name in enumerate(("fine", "fine", "broken", "later", "flaky", "slow")):
        await enqueue(redis, QUEUE, name, idempotency_key=f"metrics-{n}")

    await run_burst(kind().worker_kwargs(settings))

    counted = {pair: jobs(*pair) - before[pair] for pair in outcomes}
    assert counted == {("fine", "done"): 2, ("broken", "raised"): 1, ("later", "deferred"): 1, ("later", "done"): 1,
                       ("flaky", "redis_lost"): 1, ("flaky", "done"): 1, ("slow", "cancelled"): 1}
    assert sample("batos_job_seconds_count", worker=KIND, job="fine", outcome="done") >= 2
    timed_out = sample("batos_job_seconds_sum", worker=KIND, job="slow", outcome="cancelled") - slow_before
    assert 0.15 < timed_out < 5  # arq's 0.2 s timeout cancelled it; the hook timed it all the same


async def test_a_worker_sets_its_queue_gauges_each_health_check_interval(redis, settings: BaseServiceSettings) -> None:
    release.clear()
    record_queue_stats([QueueStat(QUEUE, depth=-1, running=0, oldest_age_s=-1)])  # whatever an earlier test left
    for n, name in enumerate(("held", "fine", "fine")):
        await enqueue(redis, QUEUE, name, idempotency_key=f"gauged-{n}")
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)  # the jobs have waited this long when the worker starts
    quick = settings.model_copy(update={"queue_health_check_interval_s": 1})
    worker = WakeableWorker(**{**kind(max_jobs=1).worker_kwargs(quick), "handle_signals": False})
    running = asyncio.create_task(worker.main())
    try:
        async def depth(expected: int) -> bool:
            return sample("batos_queue_depth", queue=QUEUE) == expected

        # first poll: "held" runs (claimed, still in the queue), the two others wait behind it
        await eventually(lambda: depth(3), within_s=10)
        assert sample("batos_queue_oldest_age_seconds", queue=QUEUE) >= 0.3
        release.set()
        await eventually(lambda: depth(0), within_s=15)  # a later health check: all done
        assert sample("batos_queue_oldest_age_seconds", queue=QUEUE) == 0
    finally:
        release.set()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await worker.close()
