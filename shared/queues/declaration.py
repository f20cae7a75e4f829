"""A worker kind, declared once: its queue, jobs, sweep, start-up and concurrency.

Each worker package declares one :class:`WorkerKind` (``workers/<kind>/worker.py``) in arq's
style; this module turns it into what runs, for the process entry point, the tests and arq's
own tooling alike::

    WORKER = WorkerKind(
        name="cognition", queue=QUEUE_COGNITION, settings_class=CognitionSettings,
        jobs=lambda s: [JobSpec(answer_task, JOB_ANSWER_TASK, timeout_s=s.cognition_task_timeout_s,
                                max_tries=s.cognition_llm_tries + 3, log_ids={"task_id": "task_id"})],
        max_jobs=lambda s: s.cognition_max_jobs,
        startup=startup, shutdown=shutdown, sweep=Sweep(sweep_abandoned_tasks),
    )
    WorkerSettings = WORKER.arq_settings()  # `arq --check workers.cognition.worker.WorkerSettings`

    python -m workers.cognition      # __main__: WORKER.main()
    WORKER.worker_kwargs(settings, ctx)  # a WakeableWorker's arguments (tests, benchmarks)

What every kind gets without writing it: the shared queue options (JSON on the wire, wake-ups,
leased claims, its queue's gauges; ``shared.queues.worker``), the job hooks (``shared.queues.hooks``:
ids on every log line, timing and job metrics, Redis-lost retries), the metrics endpoint
(``shared.metrics.serve_metrics``) and the sweep of records whose job arq dropped, run once a
round across the kind's replicas, beside the jobs (``shared.queues.sweeps``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from arq.typing import WorkerCoroutine
from arq.worker import func

from shared.logs import configure_logging
from shared.metrics import serve_metrics
from shared.queues.hooks import JobFunction, observed
from shared.queues.sweeps import sweep_forever
from shared.queues.worker import WakeableWorker, env_redis_settings, worker_options
from shared.settings import BaseServiceSettings

S = TypeVar("S", bound=BaseServiceSettings)
Hook = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class JobSpec:
    """One job function of a worker kind: ``async def function(ctx, *args) -> result``."""

    function: JobFunction
    name: str
    timeout_s: float
    max_tries: int  # arq runs it again after a crash, a Retry or a lost Redis, up to this many runs
    keep_result_s: float | None = None  # None: arq's default
    retry_delay_s: float = 1.0  # back-off of a Redis-lost retry (times the try number)
    log_ids: Mapping[str, str] = field(default_factory=dict)  # argument -> key on every log line of the job


@dataclass(frozen=True)
class Sweep:
    """Fails the records whose job arq dropped (the worker died on every try); returns how many."""

    function: Callable[[dict[str, Any]], Awaitable[int]]
    every_s: float = 60.0  # one round per interval across all replicas (shared.queues.sweeps)


@dataclass(frozen=True)
class WorkerKind(Generic[S]):
    """Everything that defines one worker kind; see the module docstring."""

    name: str
    queue: str
    settings_class: type[S]
    jobs: Callable[[S], Sequence[JobSpec]]
    max_jobs: Callable[[S], int]
    startup: Hook | None = None
    shutdown: Hook | None = None
    sweep: Sweep | None = None

    def worker_kwargs(self, settings: S, ctx: dict[str, Any] | None = None) -> dict[str, Any]:
        """Keyword arguments of the ``WakeableWorker`` of this kind with ``settings``; ``ctx``
        entries are kept (a sandbox or an LLM placed there beforehand is used by start-up)."""
        functions = [func(cast(WorkerCoroutine, observed(self.name, spec)), name=spec.name, timeout=spec.timeout_s,
                          max_tries=spec.max_tries, keep_result=spec.keep_result_s)
                     for spec in self.jobs(settings)]
        return {
            **worker_options(settings, self.queue),
            "functions": functions,
            "on_startup": self._start,
            "on_shutdown": self._stop,
            "ctx": {**(ctx or {}), "settings": settings},
            "max_jobs": self.max_jobs(settings),
        }

    async def _start(self, ctx: dict[str, Any]) -> None:
        if self.startup is not None:
            await self.startup(ctx)
        if self.sweep is not None:  # after start-up: the sweep uses what it made
            sweep = JobSpec(self.sweep.function, self.sweep.function.__name__, timeout_s=self.sweep.every_s,
                            max_tries=1)
            run = observed(self.name, sweep)
            ctx["sweeper"] = asyncio.create_task(sweep_forever(self.name, run, self.sweep.every_s, ctx))

    async def _stop(self, ctx: dict[str, Any]) -> None:
        sweeper = ctx.pop("sweeper", None)
        if sweeper is not None:
            sweeper.cancel()
            await asyncio.gather(sweeper, return_exceptions=True)
        if self.shutdown is not None:
            await self.shutdown(ctx)

    def arq_settings(self) -> type:
        """A ``WorkerSettings`` class for arq's tooling (``arq --check``, the container health
        check): the queue and Redis from the environment; it is never run."""
        return type("WorkerSettings", (), {
            "__doc__": f"arq's view of the {self.name} worker (declared in WORKER; run by WORKER.main()).",
            "queue_name": self.queue,
            "redis_settings": env_redis_settings(),
            "functions": [],
        })

    def main(self, ctx: dict[str, Any] | None = None) -> None:
        """Process entry point: settings from the environment, logging, the metrics endpoint
        (``BATOS_METRICS_PORT``), the worker until a signal."""
        settings = self.settings_class()
        configure_logging(settings.log_level, settings.log_json, settings.service_name)
        serve_metrics(settings.metrics_port, settings.metrics_addr)
        WakeableWorker(**self.worker_kwargs(settings, ctx)).run()
