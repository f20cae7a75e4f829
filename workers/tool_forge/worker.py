"""The tool-forge worker: an arq ``WorkerSettings`` plus one small job function.

    python -m workers.tool_forge

``create_tool(ctx, spec, job_id=None)`` (``JOB_CREATE_TOOL`` on ``QUEUE_TOOL_FORGE``) forges
one tool from a ``ToolSpec`` dict; ``job_id`` names its forge record (default: the arq job id).
Clients are made once in ``startup`` from ``ctx["settings"]`` (a ``ToolForgeSettings``); a
``Sandbox`` or ``ChatBackend`` placed in ``ctx`` beforehand is used instead (tests, benchmarks).
Start-up reaps sandbox containers that a killed worker left behind.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from arq.worker import func

from shared.events import EventBus
from shared.keys import JOB_CREATE_TOOL, QUEUE_TOOL_FORGE
from shared.llm import LLMClient
from shared.personas import PersonaRegistry
from shared.queues import worker_options
from shared.sandbox import Sandbox
from shared.tools import ForgeJobStore, ToolRegistry, ToolSpec
from workers.tool_forge.forge import ToolForge
from workers.tool_forge.settings import ToolForgeSettings

log = structlog.get_logger(__name__)
CRASH_HEADROOM_TRIES = 3  # arq re-runs a job whose worker died; our own transient retries come on top


async def create_tool(ctx: dict[str, Any], spec: dict[str, Any], job_id: str | None = None) -> str:
    """Forge one tool; returns the forge job's final status."""
    forge: ToolForge = ctx["forge"]
    return await forge.run(job_id or str(ctx["job_id"]), ToolSpec.model_validate(spec), ctx.get("job_try", 1))


async def startup(ctx: dict[str, Any]) -> None:
    settings: ToolForgeSettings = ctx["settings"]
    redis = ctx["redis"]
    sandbox: Sandbox = ctx.setdefault("sandbox", Sandbox(settings))
    reaped = await _reap(sandbox)
    problem = await asyncio.to_thread(sandbox.probe)
    if problem:  # jobs will be retried, then fail with this reason; the worker stays up
        log.warning("tool forge: sandbox not available", problem=problem)
    if "llm" not in ctx:
        ctx["llm"] = ctx["own_llm"] = LLMClient(settings.ollama_host, settings.llm_timeout_s)
    ctx["forge"] = ToolForge(
        settings=settings, llm=ctx["llm"], personas=PersonaRegistry.from_settings(redis, settings),
        sandbox=sandbox, registry=ToolRegistry(redis), jobs=ForgeJobStore(redis),
        bus=EventBus(redis, source=settings.service_name, journal_maxlen=settings.event_journal_maxlen),
    )
    log.info("tool forge ready", runtime=settings.sandbox_runtime, reaped=reaped,
             max_attempts=settings.forge_max_attempts)


async def _reap(sandbox: Sandbox) -> int:
    return await asyncio.to_thread(sandbox.reap_leftovers)


async def shutdown(ctx: dict[str, Any]) -> None:
    llm = ctx.get("own_llm")
    if llm is not None:
        await llm.aclose()


def create_tool_function(settings: ToolForgeSettings) -> Any:
    return func(create_tool, name=JOB_CREATE_TOOL, timeout=settings.forge_job_timeout_s,
                max_tries=settings.forge_transient_tries + CRASH_HEADROOM_TRIES)


def worker_kwargs(settings: ToolForgeSettings, ctx: dict[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments of a ``WakeableWorker`` that forges tools with ``settings``."""
    return {
        **worker_options(settings, QUEUE_TOOL_FORGE),
        "functions": [create_tool_function(settings)],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "ctx": {**(ctx or {}), "settings": settings},
        "max_jobs": settings.forge_max_jobs,
    }


class WorkerSettings:
    """For ``arq``'s tooling; the entry point builds its worker from :func:`worker_kwargs`."""

    functions = [create_tool]
    on_startup = startup
    on_shutdown = shutdown
    queue_name = QUEUE_TOOL_FORGE
