"""A running job's claim (arq's in-progress key) kept alive in short leases, and its loss noticed.

arq marks a running job with ``arq:in-progress:<job id>``; while the key lives no other worker
starts the job. ``LeaseKeeper.renew`` extends it by one lease for every job this worker runs. Its
value is arq's ``1`` for everyone, so whose claim a key is can only be told from time: a claim
this worker renewed less than a lease ago is surely still its own.

When Redis was away for longer than a lease (or lost its data), the claim may have run out and
another worker may have taken the job. The first renewal after that decides:

- the key is gone: nobody took the job; it is claimed again (``SET NX``) and the run goes on;
- the key exists although this worker's last renewal is more than a lease old: another worker
  holds the job, and this run is **lost**: the worker stops it and leaves the job to the other
  (``WakeableWorker`` neither deletes that claim nor touches the queue entry on the way out).

Within ``MARGIN`` of the lease's end, an existing key is taken as still this worker's own (Redis
and this process measure the lease from within milliseconds of each other).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from arq.constants import in_progress_key_prefix
from redis.asyncio import Redis

MARGIN = 0.1  # of a lease: below (1 - MARGIN) a renewed claim is surely alive, above (1 + MARGIN) surely run out


class LeaseKeeper:
    """Renews the claims of the jobs a worker runs; says which ones it lost."""

    def __init__(self, lease_s: float, clock: Callable[[], float] = time.monotonic):
        self.lease_s = lease_s
        self._clock = clock
        # job id -> (sent, answered): monotonic times of the last successful renewal's request and reply;
        # Redis reset the expiry in between, so "surely alive" counts from the request, "ran out" from the reply
        self._renewed_at: dict[str, tuple[float, float]] = {}

    @property
    def interval_s(self) -> float:
        """How often to renew: three renewals fit in one lease."""
        return self.lease_s / 3

    async def renew(self, redis: Redis, job_ids: Iterable[str]) -> list[str]:
        """Extend each running job's claim by one lease; returns the jobs whose claim another worker holds.

        Redis errors propagate: the claims are renewed on the next call, and a claim that ran out
        meanwhile is judged then."""
        running = list(job_ids)
        for gone in set(self._renewed_at) - set(running):
            del self._renewed_at[gone]
        lost = []
        for job_id in running:
            if not await self._renew_one(redis, job_id):
                lost.append(job_id)
                del self._renewed_at[job_id]
        return lost

    async def _renew_one(self, redis: Redis, job_id: str) -> bool:
        now = self._clock()
        # first seen: claimed at pickup, at most one renewal interval ago, for one lease
        sent, answered = self._renewed_at.setdefault(job_id, (now - self.interval_s, now - self.interval_s))
        key, lease_ms = in_progress_key_prefix + job_id, int(self.lease_s * 1000)
        if now - sent < self.lease_s * (1 - MARGIN):  # surely still ours if it exists
            held = bool(await redis.pexpire(key, lease_ms)) or bool(await redis.set(key, b"1", px=lease_ms, nx=True))
        elif await redis.set(key, b"1", px=lease_ms, nx=True):  # ran out, and nobody took the job
            held = True
        elif now - answered <= self.lease_s * (1 + MARGIN):  # at the lease's very end: still ours
            held = bool(await redis.pexpire(key, lease_ms)) or bool(await redis.set(key, b"1", px=lease_ms, nx=True))
        else:  # ran out, and someone else claimed the job since
            held = False
        if held:
            self._renewed_at[job_id] = (now, self._clock())
        return held
