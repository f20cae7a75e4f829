"""What happens around every job of every worker kind, written once (the middleware idea).

``observed(kind, spec)`` wraps a job function:

* its log lines carry ``worker``, ``job``, ``job_id``, ``job_try`` and the ids the job declares
  (``JobSpec.log_ids``: ``task_id``, ``forge_job_id``, ``fine_tune_id`` ...), bound with structlog's contextvars, so
  every line the job's code logs has them too;
* one line when it ends: ``job done`` with its outcome and duration, ``job deferred`` for a retry,
  ``job raised`` with the error;
* Redis lost (``shared.queues.retry.REDIS_LOST``) becomes a retry with back-off while tries are
  left: nothing could be recorded, so the job runs again once Redis is back;
* its duration and outcome in the metrics (``shared.metrics``: ``batos_job_seconds`` and
  ``batos_jobs_total`` by worker, job and outcome: ``done``, ``deferred``, ``redis_lost``,
  ``raised``, or ``cancelled`` for a timeout or a shutdown that hands the job back).
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import structlog
from arq import Retry

from shared.metrics import JOB_SECONDS, JOBS
from shared.queues.retry import REDIS_LOST, RetryPolicy

if TYPE_CHECKING:
    from shared.queues.declaration import JobSpec

log = structlog.get_logger(__name__)
JobFunction = Callable[..., Awaitable[Any]]
OUTCOME_CHARS = 200


def observed(kind: str, spec: JobSpec) -> JobFunction:
    """``spec.function`` with the hooks of this module around it (same name and signature)."""
    function = spec.function
    signature = inspect.signature(function)
    redis_lost = RetryPolicy(spec.max_tries, spec.retry_delay_s)

    @functools.wraps(function)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind_partial(ctx, *args, **kwargs).arguments
        ids = {key: arguments[name] for name, key in spec.log_ids.items() if arguments.get(name) is not None}
        job_try = int(ctx.get("job_try") or 1)
        started = time.perf_counter()
        outcome = "cancelled"  # unless the job ends otherwise: arq's timeout or a shutdown cancelled it
        with structlog.contextvars.bound_contextvars(worker=kind, job=spec.name, job_id=ctx.get("job_id"),
                                                     job_try=job_try, **ids):
            try:
                result = await function(ctx, *args, **kwargs)
            except Retry as deferred:
                outcome = "deferred"
                log.info("job deferred", defer_s=_seconds(deferred.defer_score), duration_s=_since(started))
                raise
            except REDIS_LOST as exc:
                outcome = "redis_lost"
                retry = redis_lost.after(job_try)
                log.warning("job lost Redis", error=str(exc), retried=retry is not None,
                            duration_s=_since(started))
                if retry is None:
                    raise
                raise retry from exc
            except Exception as exc:
                outcome = "raised"
                log.warning("job raised", error=f"{type(exc).__name__}: {exc}"[:OUTCOME_CHARS],
                            duration_s=_since(started))
                raise
            else:
                outcome = "done"
                log.info("job done", outcome=str(result)[:OUTCOME_CHARS], duration_s=_since(started))
                return result
            finally:
                JOB_SECONDS.labels(kind, spec.name, outcome).observe(time.perf_counter() - started)
                JOBS.labels(kind, spec.name, outcome).inc()

    return run


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 6)


def _seconds(defer_ms: int | None) -> float | None:
    return None if defer_ms is None else defer_ms / 1000
