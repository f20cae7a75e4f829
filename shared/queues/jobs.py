"""What arq's keys say about one job, for code that must tell a live job from a dropped one."""

from __future__ import annotations

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix


async def job_in_flight(redis: ArqRedis, job_id: str) -> bool:
    """Queued (perhaps for another try) or being run. arq deletes both keys when it finishes a
    job, and when it drops one after ``max_tries``: a record still unfinished then is abandoned."""
    return bool(await redis.exists(job_key_prefix + job_id, in_progress_key_prefix + job_id))
