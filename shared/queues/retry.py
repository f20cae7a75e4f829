"""Retrying a job after a transient failure: which failures are transient, and the back-off.

Transient: the LLM server unreachable, Redis lost (a restart, a network cut). A job that meets
one is run again later by arq (``arq.Retry``) until its tries are spent; every worker kind uses
this one policy. Redis lost is handled for every job by the job hook (``shared.queues.hooks``):
nothing can be recorded then anyway. LLM unreachable is handled by the job itself, because it
records the retry on its own record first (``queued``, "retrying: ...") and fails it at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

from arq import Retry
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

REDIS_LOST = (RedisConnectionError, RedisTimeoutError)


@dataclass(frozen=True)
class RetryPolicy:
    """``tries`` runs in all, the n-th retry deferred by ``delay_s * n`` (linear back-off)."""

    tries: int
    delay_s: float

    def after(self, job_try: int) -> Retry | None:
        """The retry that follows try ``job_try`` (1-based), or ``None`` once the tries are spent."""
        if job_try >= self.tries:
            return None
        return Retry(defer=self.delay_s * job_try)
