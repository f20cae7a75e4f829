"""arq workers as real workers: JSON on the wire, idempotent enqueue, wake-up on enqueue."""

from __future__ import annotations

import asyncio
import json
import time

from arq.constants import in_progress_key_prefix, job_key_prefix

from shared.queues import WakeableWorker, enqueue, worker_options
from shared.queues.leases import LeaseKeeper
from shared.redis import connect
from shared.settings import BaseServiceSettings
from tests.support.eventually import eventually

QUEUE = "batos:queue:test"
ran: list[dict[str, object]] = []


async def record(ctx: dict[str, object], payload: dict[str, object]) -> dict[str, object]:
    ran.append(payload)
    return {"echo": payload, "try": ctx["job_try"]}


def make_worker(settings: BaseServiceSettings, **overrides: object) -> WakeableWorker:
    options = {**worker_options(settings, QUEUE), "functions": [record], "burst": True, "poll_delay": 0,
               "handle_signals": False, **overrides}
    return WakeableWorker(**options)  # type: ignore[arg-type]


async def test_job_runs_and_its_data_is_json_not_pickle(redis, settings: BaseServiceSettings) -> None:
    ran.clear()
    job = await enqueue(redis, QUEUE, "record", {"n": 1}, idempotency_key="job-1")
    assert job is not None
    stored = await redis.get(job_key_prefix + "job-1")
    assert json.loads(stored)["a"] == [{"n": 1}]  # readable JSON, not a pickle
    worker = make_worker(settings)
    await worker.main()
    await worker.close()
    assert ran == [{"n": 1}]
    assert await job.result(timeout=2) == {"echo": {"n": 1}, "try": 1}


async def test_same_idempotency_key_enqueues_once(redis, settings: BaseServiceSettings) -> None:
    ran.clear()
    first = await enqueue(redis, QUEUE, "record", {"n": 1}, idempotency_key="same")
    second = await enqueue(redis, QUEUE, "record", {"n": 2}, idempotency_key="same")
    assert first is not None and second is None
    worker = make_worker(settings)
    await worker.main()
    await worker.close()
    third = await enqueue(redis, QUEUE, "record", {"n": 3}, idempotency_key="same")  # result still kept
    assert third is None
    assert ran == [{"n": 1}]


async def test_enqueue_wakes_an_idle_worker_before_its_poll_delay(redis, settings: BaseServiceSettings) -> None:
    ran.clear()
    worker = make_worker(settings, burst=False, poll_delay=30)
    running = asyncio.create_task(worker.main())
    try:
        await asyncio.sleep(0.3)  # let it go idle: its next poll is 30 s away
        started = time.perf_counter()
        await enqueue(redis, QUEUE, "record", {"n": 7})
        while not ran:
            await asyncio.sleep(0.005)
            assert time.perf_counter() - started < 15, "the worker was not woken"  # its poll is 30 s away
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await worker.close()
    assert ran == [{"n": 7}]


async def test_health_check_key_is_written(redis, settings: BaseServiceSettings) -> None:
    await enqueue(redis, QUEUE, "record", {"n": 1})
    worker = make_worker(settings)
    await worker.main()
    health = await redis.get(QUEUE + ":health-check")
    await worker.close()
    assert health is not None and b"j_complete=" in health and b"queued=" in health


async def slow(ctx: dict[str, object]) -> str:
    await asyncio.sleep(1.5)
    return "done"


async def test_a_running_job_holds_a_short_renewed_lease(redis, settings: BaseServiceSettings) -> None:
    worker = make_worker(settings, functions=[slow], burst=False, in_progress_lease_s=0.6)
    running = asyncio.create_task(worker.main())
    try:
        job = await enqueue(redis, QUEUE, "slow", idempotency_key="slow-1")
        assert job is not None
        ttls: list[int] = []  # the claim's TTL (ms), sampled while the job runs
        while not await redis.exists("arq:result:slow-1"):
            ttl = await redis.pttl("arq:in-progress:slow-1")
            if ttl > 0:
                ttls.append(ttl)
            await asyncio.sleep(0.05)
        assert await job.result(timeout=5) == "done"
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await worker.close()
    # arq's own claim lives for the job timeout + 10 s (310 s); renewed leases keep it under 0.6 s
    # all through the 1.5 s run, once the first renewal (within 0.2 s of the start) has come
    assert len(ttls) >= 5
    assert max(ttls[len(ttls) // 2:]) <= 600


async def test_the_claim_taken_at_pickup_is_one_lease_not_the_whole_timeout(redis, settings) -> None:
    """A worker killed before its first renewal leaves a claim of one lease (arq's would be 310 s)."""
    worker = make_worker(settings, functions=[slow], burst=False, in_progress_lease_s=30)
    running = asyncio.create_task(worker.main())
    try:
        await enqueue(redis, QUEUE, "slow", idempotency_key="slow-claim")
        ttl = -2
        while ttl <= 0:
            ttl = await redis.pttl("arq:in-progress:slow-claim")
            await asyncio.sleep(0.01)
        assert 0 < ttl <= 30_000
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await worker.close()


async def test_a_worker_outlives_a_redis_restart_and_runs_the_next_job(live_redis, settings) -> None:
    ran.clear()
    worker = make_worker(settings, burst=False, poll_delay=0.2)
    running = asyncio.create_task(worker.main())
    try:
        await asyncio.sleep(0.3)
        live_redis.stop(kill=True)
        await asyncio.sleep(1.0)  # polls fail meanwhile
        assert not running.done(), "the worker exited when Redis went away"
        live_redis.start()
        client = await connect(live_redis.url)
        try:
            await enqueue(client, QUEUE, "record", {"n": 7}, idempotency_key="after-restart")
            for _ in range(200):
                if ran:
                    break
                await asyncio.sleep(0.05)
        finally:
            await client.aclose()
        assert ran == [{"n": 7}] and not running.done()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await worker.close()


async def test_jobs_behind_claims_of_dead_workers_still_run(redis, settings: BaseServiceSettings) -> None:
    """arq reads only the first ``queue_read_limit`` due ids; dead claims there must not starve the rest."""
    ran.clear()
    for n in range(6):
        await enqueue(redis, QUEUE, "record", {"n": n}, idempotency_key=f"job-{n}")
    for n in range(4):  # claims a killed worker left on the first four (their lease has not run out)
        await redis.psetex(in_progress_key_prefix + f"job-{n}", 600_000, b"1")
    worker = make_worker(settings, burst=False, poll_delay=0.05, queue_read_limit=2)
    running = asyncio.create_task(worker.main())
    try:
        await eventually(lambda: _ran_at_least(2), within_s=30)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await worker.close()
    assert sorted(p["n"] for p in ran) == [4, 5]  # the free ones ran; the claimed ones wait for their lease


async def _ran_at_least(n: int) -> bool:
    return len(ran) >= n


async def blocked(ctx: dict[str, object]) -> str:
    await asyncio.sleep(600)
    return "never"


async def test_a_run_whose_claim_another_worker_took_stops_and_leaves_the_job_to_it(redis, settings) -> None:
    """Redis away for longer than a lease: on its return another worker holds the job, so this run
    stops, and neither that worker's claim nor the queue entry is touched."""
    clock = FrozenClock()
    worker = make_worker(settings, functions=[blocked], burst=False, in_progress_lease_s=0.6)
    worker.leases = LeaseKeeper(0.6, clock=clock)
    running = asyncio.create_task(worker.main())
    try:
        await enqueue(redis, QUEUE, "blocked", idempotency_key="contested")
        await eventually(lambda: _running_here(worker, "contested"), within_s=30)
        await eventually(clock.read_twice, within_s=30)  # its claim was renewed since it started
        clock.now += 5  # no renewal for eight leases: the claim ran out, and another worker took the job
        await redis.psetex(in_progress_key_prefix + "contested", 60_000, b"1")
        await eventually(lambda: _stopped_here(worker, "contested"), within_s=30)
        await asyncio.sleep(0.5)  # the run's way out (finish_job) is over
        assert not running.done()  # the worker goes on
        assert 50_000 < await redis.pttl(in_progress_key_prefix + "contested") <= 60_000  # the other's claim
        assert await redis.zscore(QUEUE, "contested") is not None  # still queued: the other worker finishes it
        assert await redis.exists(job_key_prefix + "contested")
        assert not await redis.exists("arq:result:contested")
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await worker.close()


class FrozenClock:
    """Stands still unless moved; counts its reads (one per renewal of a running job's claim)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now

    async def read_twice(self) -> bool:
        return self.reads >= 2


async def _running_here(worker: WakeableWorker, job_id: str) -> bool:
    return job_id in worker.job_tasks


async def _stopped_here(worker: WakeableWorker, job_id: str) -> bool:
    return job_id not in worker.job_tasks
