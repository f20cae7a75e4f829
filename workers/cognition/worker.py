"""The cognition worker: an arq ``WorkerSettings`` plus one small job function.

    python -m workers.cognition

``answer_task(ctx, task_id)`` (``JOB_ANSWER_TASK`` on ``QUEUE_COGNITION``) answers one task;
clients are made once in ``startup`` from ``ctx["settings"]`` (a ``CognitionSettings``) and
closed in ``shutdown``. ``worker_kwargs(settings)`` is what a ``WakeableWorker`` needs, for the
process entry point and for tests alike. A ``ToolProvider`` placed in ``ctx["tools"]`` is
offered to the personas (step 3's seam).
"""

from __future__ import annotations

from typing import Any

from arq.cron import cron
from arq.worker import func

from shared.events import EventBus
from shared.keys import JOB_ANSWER_TASK, QUEUE_COGNITION
from shared.llm import LLMClient
from shared.personas import PersonaRegistry
from shared.queues import worker_options
from shared.queues.worker import env_redis_settings
from shared.stores.codex import CodexStore
from shared.stores.interactions import InteractionLog
from shared.stores.tasks import TaskStore
from workers.cognition.answer import Cognition
from workers.cognition.pipeline import PersonaPipeline
from workers.cognition.settings import CognitionSettings
from workers.cognition.sweep import fail_abandoned_tasks

CRASH_HEADROOM_TRIES = 3  # arq re-runs a job whose worker died; our own LLM retries come on top


async def answer_task(ctx: dict[str, Any], task_id: str) -> str:
    """Answer one task by id; returns its final status."""
    cognition: Cognition = ctx["cognition"]
    return await cognition.answer(task_id, ctx.get("job_try", 1))


async def sweep_abandoned_tasks(ctx: dict[str, Any]) -> int:
    """Cron: fail tasks whose job arq dropped after the worker died on every try."""
    cognition: Cognition = ctx["cognition"]
    return await fail_abandoned_tasks(ctx["redis"], cognition.tasks, cognition.bus,
                                      ctx["settings"].dissonance_threshold)


async def startup(ctx: dict[str, Any]) -> None:
    settings: CognitionSettings = ctx["settings"]
    redis = ctx["redis"]
    llm = LLMClient(settings.ollama_host, settings.llm_timeout_s)
    personas = PersonaRegistry.from_settings(redis, settings)
    ctx["llm"] = llm
    ctx["cognition"] = Cognition(
        settings=settings, redis=redis, llm=llm, personas=personas,
        pipeline=PersonaPipeline(llm, personas, ctx.get("tools")),
        tasks=TaskStore(redis), interactions=InteractionLog(redis, settings.interactions_maxlen),
        codex=CodexStore(redis, settings.codex_path),
        bus=EventBus(redis, source=settings.service_name, journal_maxlen=settings.event_journal_maxlen),
    )


async def shutdown(ctx: dict[str, Any]) -> None:
    llm = ctx.get("llm")
    if llm is not None:
        await llm.aclose()


def answer_function(settings: CognitionSettings) -> Any:
    return func(answer_task, name=JOB_ANSWER_TASK, timeout=settings.cognition_task_timeout_s,
                max_tries=settings.cognition_llm_tries + CRASH_HEADROOM_TRIES)


def worker_kwargs(settings: CognitionSettings, ctx: dict[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments of a ``WakeableWorker`` that answers tasks with ``settings``."""
    return {
        **worker_options(settings, QUEUE_COGNITION),
        "functions": [answer_function(settings)],
        "cron_jobs": [cron(sweep_abandoned_tasks, name="sweep_abandoned_tasks", second={0}, unique=True)],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "ctx": {**(ctx or {}), "settings": settings},
        "max_jobs": settings.cognition_max_jobs,
    }


class WorkerSettings:
    """For ``arq``'s tooling; the entry point builds its worker from :func:`worker_kwargs`."""

    functions = [answer_task]
    on_startup = startup
    on_shutdown = shutdown
    queue_name = QUEUE_COGNITION
    redis_settings = env_redis_settings()  # so `arq --check` (the health check) finds Redis
