"""The tool-forge worker: an arq ``WorkerSettings`` plus one small job function.

    python -m workers.tool_forge

``create_tool(ctx, spec, job_id=None)`` (``JOB_CREATE_TOOL`` on ``QUEUE_TOOL_FORGE``) forges
one tool from a ``ToolSpec`` dict; ``job_id`` names its forge record (default: the arq job id).
``invoke_tool(ctx, name, args, version=None)`` (``JOB_INVOKE_TOOL``) runs one call of a
registered tool in this worker's sandbox for the API and the personas (``RemoteInvoker``): this
worker kind is the only one that holds the Docker engine.
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
from shared.keys import JOB_CREATE_TOOL, JOB_INVOKE_TOOL, QUEUE_TOOL_FORGE
from shared.llm import LLMClient
from shared.personas import PersonaRegistry
from shared.queues import worker_options
from shared.queues.worker import env_redis_settings
from shared.sandbox import Sandbox
from shared.tools import ForgeJobStore, LocalInvoker, ToolRegistry, ToolSpec
from workers.tool_forge.forge import ToolForge
from workers.tool_forge.settings import ToolForgeSettings

log = structlog.get_logger(__name__)
CRASH_HEADROOM_TRIES = 3  # arq re-runs a job whose worker died; our own transient retries come on top
INVOCATION_RESULT_TTL_S = 300  # the caller reads it within its own timeout


async def create_tool(ctx: dict[str, Any], spec: dict[str, Any], job_id: str | None = None) -> str:
    """Forge one tool; returns the forge job's final status."""
    forge: ToolForge = ctx["forge"]
    return await forge.run(job_id or str(ctx["job_id"]), ToolSpec.model_validate(spec), ctx.get("job_try", 1))


async def invoke_tool(ctx: dict[str, Any], name: str, args: dict[str, Any], version: int | None = None,
                      ) -> dict[str, Any]:
    """Run one tool call in the sandbox; returns a ``ToolCallResult`` as JSON (never raises for a bad call)."""
    invoker: LocalInvoker = ctx["invoker"]
    return (await invoker(name, args, version)).model_dump(mode="json")


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
    registry = ToolRegistry(redis)
    ctx["invoker"] = LocalInvoker(registry, sandbox)
    ctx["forge"] = ToolForge(
        settings=settings, llm=ctx["llm"], personas=PersonaRegistry.from_settings(redis, settings),
        sandbox=sandbox, registry=registry, jobs=ForgeJobStore(redis),
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


def job_functions(settings: ToolForgeSettings) -> list[Any]:
    return [
        func(create_tool, name=JOB_CREATE_TOOL, timeout=settings.forge_job_timeout_s,
             max_tries=settings.forge_transient_tries + CRASH_HEADROOM_TRIES),
        # one try: a call is not idempotent in general, and its caller has stopped waiting by then
        func(invoke_tool, name=JOB_INVOKE_TOOL, timeout=int(settings.sandbox_timeout_s) + 30, max_tries=1,
             keep_result=INVOCATION_RESULT_TTL_S),
    ]


def worker_kwargs(settings: ToolForgeSettings, ctx: dict[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments of a ``WakeableWorker`` that forges tools with ``settings``."""
    return {
        **worker_options(settings, QUEUE_TOOL_FORGE),
        "functions": job_functions(settings),
        "on_startup": startup,
        "on_shutdown": shutdown,
        "ctx": {**(ctx or {}), "settings": settings},
        "max_jobs": settings.forge_max_jobs + settings.forge_max_invocations,
    }


class WorkerSettings:
    """For ``arq``'s tooling; the entry point builds its worker from :func:`worker_kwargs`."""

    functions = [create_tool, invoke_tool]
    on_startup = startup
    on_shutdown = shutdown
    queue_name = QUEUE_TOOL_FORGE
    redis_settings = env_redis_settings()  # so `arq --check` (the health check) finds Redis
