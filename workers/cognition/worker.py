"""The cognition worker, declared: one job that answers a task, and the sweep of abandoned ones.

    python -m workers.cognition

``answer_task(ctx, task_id)`` (``JOB_ANSWER_TASK`` on ``QUEUE_COGNITION``) answers one task;
clients are made once in ``startup`` from ``ctx["settings"]`` (a ``CognitionSettings``) and
closed in ``shutdown``. A ``ToolProvider`` placed in ``ctx["tools"]`` is offered to the personas
(step 3's seam); without one, start-up makes the toolbox whose calls tool-forge workers run.
"""

from __future__ import annotations

from typing import Any

from shared.events import EventBus
from shared.keys import JOB_ANSWER_TASK, QUEUE_COGNITION
from shared.llm import LLMClient
from shared.personas import PersonaRegistry
from shared.queues.declaration import JobSpec, Sweep, WorkerKind
from shared.stores.codex import CodexStore
from shared.stores.interactions import InteractionLog
from shared.stores.tasks import TaskStore
from shared.tools import toolbox_for
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
    """Fail tasks whose job arq dropped after the worker died on every try."""
    cognition: Cognition = ctx["cognition"]
    return await fail_abandoned_tasks(ctx["redis"], cognition.tasks, cognition.bus,
                                      ctx["settings"].dissonance_threshold)


async def startup(ctx: dict[str, Any]) -> None:
    settings: CognitionSettings = ctx["settings"]
    redis = ctx["redis"]
    if "tools" not in ctx:  # registered tools are offered to BRICK; their calls run in the sandbox
        ctx["tools"] = toolbox_for(redis)
    llm = LLMClient(settings.ollama_host, settings.llm_timeout_s)
    personas = PersonaRegistry.from_settings(redis, settings)
    ctx["llm"] = llm
    ctx["cognition"] = Cognition(
        settings=settings, redis=redis, llm=llm, personas=personas,
        pipeline=PersonaPipeline(llm, personas, ctx["tools"]),
        tasks=TaskStore(redis), interactions=InteractionLog(redis, settings.interactions_maxlen),
        codex=CodexStore(redis, settings.codex_path),
        bus=EventBus(redis, source=settings.service_name, journal_maxlen=settings.event_journal_maxlen),
    )


async def shutdown(ctx: dict[str, Any]) -> None:
    llm = ctx.get("llm")
    if llm is not None:
        await llm.aclose()


def jobs(settings: CognitionSettings) -> list[JobSpec]:
    return [JobSpec(answer_task, JOB_ANSWER_TASK, timeout_s=settings.cognition_task_timeout_s,
                    max_tries=settings.cognition_llm_tries + CRASH_HEADROOM_TRIES,
                    retry_delay_s=settings.cognition_retry_delay_s, log_ids={"task_id": "task_id"})]


WORKER = WorkerKind(
    name="cognition", queue=QUEUE_COGNITION, settings_class=CognitionSettings, jobs=jobs,
    max_jobs=lambda settings: settings.cognition_max_jobs,
    startup=startup, shutdown=shutdown, sweep=Sweep(sweep_abandoned_tasks),
)
WorkerSettings = WORKER.arq_settings()  # `arq --check workers.cognition.worker.WorkerSettings` (health check)
