"""An arq ``Worker`` that an enqueue wakes at once instead of waiting for its next poll.

arq polls its queue's sorted set every ``poll_delay``: 0.5 s by default (~270 ms median
dispatch), or a CPU-burning 10 ms. This worker subscribes to the queue's wake-up channel
(``shared.queues.enqueue`` publishes on it) and sleeps until a wake-up or ``poll_delay``
(a fallback for jobs deferred into the future or wake-ups lost during a reconnect), whichever
comes first. A finished job also wakes the loop, so a full worker takes the next job at once.
Once per health-check interval it also sets its queue's gauges (``shared.queues.stats``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog
from arq.connections import RedisSettings
from arq.constants import in_progress_key_prefix
from arq.utils import timestamp_ms
from arq.worker import Worker, get_kwargs
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shared.heartbeat import BEAT_INTERVAL_S, beat, instance_id, stop_beating, ttl_for
from shared.keys import queue_wakeup_channel
from shared.metrics import record_queue_stats
from shared.queues.leases import LeaseKeeper
from shared.queues.serializer import json_deserializer, json_serializer
from shared.queues.stats import queue_stats
from shared.settings import BaseServiceSettings

log = structlog.get_logger(__name__)
MAX_READ_PAGES = 20  # how far past claimed jobs one poll looks for free ones (pages of queue_read_limit)


class WakeableWorker(Worker):
    """arq worker with push wake-ups and leased jobs; otherwise arq's semantics, unchanged.

    ``in_progress_lease_s``: arq marks a running job with an in-progress key that lives for the
    longest job timeout + 10 s, so the job of a worker killed mid-run waits that long (hours for
    training) before another worker may run it again. With a lease, this worker keeps the key
    alive in short renewals instead; a dead worker's job is free again within one lease. The
    claim taken at pickup is one lease long too (arq's own is the longest timeout + 10 s, which a
    worker killed before its first renewal would leave behind for that long). A claim lost while
    Redis was away (another worker took the job: ``shared.queues.leases``) stops the run here, and
    the job is left to the other worker: its claim and queue entry are not touched on the way out.

    Claimed jobs (running here or elsewhere, or left by a dead worker until its lease runs out)
    never hide the free ones behind them: arq reads only the first ``queue_read_limit`` due ids,
    this worker pages past the claimed ones.

    Redis lost (a restart, a network cut) does not end the worker: the poll loop logs, waits and
    polls again, and the jobs it runs retry on their own terms.

    ``heartbeat_service``: the name this process beats as (default: the last part of the queue
    name, its worker kind); every ``heartbeat_interval_s`` with arq's health check.
    """

    def __init__(self, *args: Any, in_progress_lease_s: float | None = None, heartbeat_service: str | None = None,
                 heartbeat_interval_s: float = BEAT_INTERVAL_S, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.heartbeat_service = heartbeat_service or worker_kind(self.queue_name)
        self.heartbeat_instance = instance_id()
        self._beat_interval_s = heartbeat_interval_s
        self._last_beat = float("-inf")
        self._wake = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        self.leases = LeaseKeeper(in_progress_lease_s) if in_progress_lease_s is not None else None  # replaceable
        self._lost: set[str] = set()  # jobs whose claim another worker took: their runs are being stopped
        self._stats_at = float("-inf")  # when the queue gauges were last set (monotonic)
        if in_progress_lease_s is not None:
            self.in_progress_timeout_s = in_progress_lease_s  # the claim at pickup: one lease, not the timeout

    async def main(self) -> None:  # mirrors arq.Worker.main with the sleep replaced by a wake-up wait
        if self._pool is None:
            from arq.connections import create_pool

            self._pool = await create_pool(
                self.redis_settings,
                job_deserializer=self.job_deserializer,
                job_serializer=self.job_serializer,
                default_queue_name=self.queue_name,
                expires_extra_ms=self.expires_extra_ms,
            )
        log.info("worker starting", queue=self.queue_name, functions=sorted(self.functions))
        self.ctx["redis"] = self.pool
        if self.on_startup:
            await self.on_startup(self.ctx)
        self._listener = asyncio.create_task(self._listen_for_wakeups())
        renewer = asyncio.create_task(self._renew_leases()) if self.leases else None
        try:
            while True:
                self._wake.clear()
                try:
                    await self._poll_iteration()
                except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                    log.warning("queue poll lost Redis; polling again", error=str(exc))
                    await asyncio.sleep(min(self.poll_delay_s, 1.0))
                    continue
                if self.burst:
                    if 0 <= self.max_burst_jobs <= self._jobs_started():
                        await asyncio.gather(*self.tasks.values())
                        return
                    if await self.pool.zcard(self.queue_name) == 0:
                        await asyncio.gather(*self.tasks.values())
                        return
                    if self.job_counter < self.max_jobs:
                        continue  # jobs are due: take them now
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll_delay_s)
                except TimeoutError:
                    pass
        finally:
            for task in (self._listener, renewer):
                if task is not None:
                    task.cancel()
            await asyncio.gather(*(t for t in (self._listener, renewer) if t is not None), return_exceptions=True)

    async def _poll_iteration(self) -> None:  # arq's, with the read replaced by _unclaimed_due_jobs
        count = self.queue_read_limit
        if self.burst and self.max_burst_jobs >= 0:
            count = min(count, self.max_burst_jobs - self._jobs_started())
            if count < 1:
                return
        if self.allow_pick_jobs and self.job_counter < self.max_jobs:
            await self.start_jobs(await self._unclaimed_due_jobs(count))
        if self.allow_abort_jobs:
            await self._cancel_aborted_jobs()
        for job_id, task in list(self.tasks.items()):
            if task.done():
                del self.tasks[job_id]
                task.result()  # errors in run_job surface here, as in arq
        await self.heart_beat()
        await self._record_queue_stats()

    async def _record_queue_stats(self) -> None:
        """This queue's depth and oldest waiting job in the gauges, once per health-check interval."""
        now = time.monotonic()
        if now - self._stats_at < self.health_check_interval:
            return
        self._stats_at = now
        try:
            record_queue_stats(await queue_stats(self.pool, [self.queue_name]))
        except Exception as exc:  # a gauge left stale must never stop the poll loop
            log.warning("queue gauges not updated", error=str(exc))

    async def _unclaimed_due_jobs(self, count: int) -> list[bytes]:
        """Up to ``count`` due job ids that no worker holds, in queue order."""
        now, offset, free = timestamp_ms(), 0, []
        for _ in range(MAX_READ_PAGES):
            page = await self.pool.zrangebyscore(self.queue_name, min=float("-inf"), max=now,
                                                 start=offset, num=count)
            if not page:
                break
            async with self.pool.pipeline(transaction=False) as pipe:
                for job_id in page:
                    pipe.exists(in_progress_key_prefix + job_id.decode())
                claimed = await pipe.execute()
            free += [job_id for job_id, held in zip(page, claimed, strict=True) if not held]
            if len(free) >= count or len(page) < count:
                break
            offset += len(page)
        return free[:count]

    async def _renew_leases(self) -> None:
        assert self.leases is not None
        while True:
            try:
                running = [job_id for job_id in self.job_tasks if job_id not in self._lost]  # not the stopping ones
                for job_id in await self.leases.renew(self.pool, running):
                    self._stop_lost_run(job_id)
            except Exception as exc:  # Redis away: the next round renews; the lease covers three rounds
                log.warning("in-progress lease not renewed", error=str(exc))
            await asyncio.sleep(self.leases.interval_s)

    def _stop_lost_run(self, job_id: str) -> None:
        task = self.job_tasks.get(job_id)
        if task is None or task.done():
            return
        log.error("job claim lost while Redis was away: another worker runs it now; stopping this run",
                  job_id=job_id, queue=self.queue_name)
        self._lost.add(job_id)
        task.cancel()

    async def finish_job(self, job_id: str, *args: Any, **kwargs: Any) -> None:
        """arq's, except for a run stopped because another worker holds its job (``_stop_lost_run``):
        that worker's claim, the queue entry and the tries count are left alone."""
        if job_id in self._lost:
            self._lost.discard(job_id)
            log.warning("lost run stopped; the job stays with the worker that holds it", job_id=job_id)
            return
        await super().finish_job(job_id, *args, **kwargs)

    async def record_health(self) -> None:
        """arq's health-check key, and this process's heartbeat (``shared.heartbeat``)."""
        await super().record_health()
        now = time.monotonic()
        if now - self._last_beat >= self._beat_interval_s:
            await beat(self.pool, self.heartbeat_service, self.heartbeat_instance, ttl_for(self._beat_interval_s))
            self._last_beat = now

    async def close(self) -> None:
        if self._pool is not None:
            try:
                await stop_beating(self._pool, self.heartbeat_service, self.heartbeat_instance)
            except Exception as exc:  # Redis away: the beat expires by itself
                log.debug("heartbeat not removed", error=str(exc))
        await super().close()

    def _release_sem_dec_counter_on_complete(self) -> None:
        super()._release_sem_dec_counter_on_complete()
        self._wake.set()

    async def _listen_for_wakeups(self) -> None:
        channel = queue_wakeup_channel(self.queue_name)
        while True:
            pubsub = self.pool.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(channel)
                self._wake.set()  # anything enqueued while we were not listening
                async for _ in pubsub.listen():
                    self._wake.set()
            except Exception as exc:  # a lost listener must not stop the worker: it polls meanwhile
                log.warning("wake-up listener lost Redis; worker falls back to polling", error=str(exc))
                await asyncio.sleep(self.poll_delay_s)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:  # closing a connection Redis already dropped
                    log.debug("pubsub close failed", exc_info=True)


def worker_kind(queue_name: str) -> str:
    """The kind of worker that serves a queue: ``batos:queue:cognition`` -> ``cognition``."""
    return queue_name.rsplit(":", 1)[-1]


def redis_settings(url: str) -> RedisSettings:
    """arq's connection settings from a ``redis://`` URL, retrying while Redis starts."""
    settings = RedisSettings.from_dsn(url)
    settings.conn_retries = 30
    settings.conn_retry_delay = 1
    return settings


def env_redis_settings() -> RedisSettings:
    """Redis settings from ``BATOS_REDIS_URL``, for a ``WorkerSettings`` class that ``arq --check``
    reads (the container health check) without running the worker."""
    return redis_settings(BaseServiceSettings().redis_url)


def worker_options(settings: BaseServiceSettings, queue_name: str) -> dict[str, Any]:
    """The keyword arguments every BAT OS worker shares (spread into a ``WorkerSettings``)."""
    return {
        "queue_name": queue_name,
        "redis_settings": redis_settings(settings.redis_url),
        "job_serializer": json_serializer,
        "job_deserializer": json_deserializer,
        "poll_delay": settings.queue_poll_delay_s,
        "health_check_interval": settings.queue_health_check_interval_s,
        "job_completion_wait": settings.queue_job_completion_wait_s,
        "max_jobs": 100,
        "in_progress_lease_s": settings.queue_in_progress_lease_s,
    }


def run_worker(settings_cls: type, **overrides: Any) -> None:
    """Run a worker from its ``WorkerSettings`` class until SIGINT/SIGTERM (a process entry point)."""
    kwargs = {**get_kwargs(settings_cls), **overrides}
    WakeableWorker(**kwargs).run()
