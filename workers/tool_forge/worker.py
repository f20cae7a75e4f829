"""The tool-forge worker, declared: forge a tool, run a tool call, sweep abandoned forge jobs.

    python -m workers.tool_forge

``create_tool(ctx, spec, job_id=None)`` (``JOB_CREATE_TOOL`` on ``QUEUE_TOOL_FORGE``) forges
one tool from a ``ToolSpec`` dict; ``job_id`` names its forge record (default: the arq job id).
``invoke_tool(ctx, name, args, version=None)`` (``JOB_INVOKE_TOOL``) runs one call of a
registered tool in this worker's sandbox for the API and the personas (``RemoteInvoker``): this
worker kind is the only one that holds the Docker engine.
Clients are made once in ``startup`` from ``ctx["settings"]`` (a ``ToolForgeSettings``); a
``Sandbox`` or ``ChatBackend`` placed in ``ctx`` beforehand is used instead (tests, benchmarks).
Start-up reaps sandbox containers that a killed worker left behind, probes the sandbox and
publishes the outcome for ``GET /v1/status`` (``shared.status.publish_sandbox_probe``), then
probes again every ``SANDBOX_PROBE_INTERVAL_S`` (``ctx["sandbox_probe_interval_s"]`` overrides it).
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from shared.events import EventBus
from shared.keys import JOB_CREATE_TOOL, JOB_INVOKE_TOOL, QUEUE_TOOL_FORGE
from shared.llm import LLMClient
from shared.personas import PersonaRegistry
from shared.queues.declaration import JobSpec, Sweep, WorkerKind
from shared.sandbox import Sandbox
from shared.status import SANDBOX_PROBE_INTERVAL_S, publish_sandbox_probe
from shared.tools import ForgeJobStore, LocalInvoker, ToolRegistry, ToolSpec
from workers.tool_forge.forge import ToolForge
from workers.tool_forge.settings import ToolForgeSettings
from workers.tool_forge.sweep import fail_abandoned_forge_jobs

log = structlog.get_logger(__name__)
CRASH_HEADROOM_TRIES = 3  # arq re-runs a job whose worker died; our own transient retries come on top
INVOCATION_RESULT_TTL_S = 300  # the caller reads it within its own timeout


async def create_tool(ctx: dict[str, Any], spec: dict[str, Any], job_id: str | None = None) -> str:
    """Forge one tool; returns the forge job's final status."""
    forge: ToolForge = ctx["forge"]
    return await forge.run(job_id or str(ctx["job_id"]), ToolSpec.model_validate(spec), ctx.get("job_try", 1),
                           queue_job_id=str(ctx["job_id"]))


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
    interval_s = float(ctx.get("sandbox_probe_interval_s", SANDBOX_PROBE_INTERVAL_S))
    await _publish_probe(redis, problem, interval_s)
    ctx["sandbox_prober"] = asyncio.create_task(_probe_every(redis, sandbox, interval_s, problem))
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


async def _publish_probe(redis: Any, problem: str | None, interval_s: float) -> None:
    try:
        await publish_sandbox_probe(redis, problem, ttl_s=3 * interval_s)
    except Exception as exc:  # Redis away: the next probe publishes
        log.warning("sandbox probe not published", error=str(exc))


async def _probe_every(redis: Any, sandbox: Sandbox, interval_s: float, last: str | None) -> None:
    """Probe the sandbox every ``interval_s`` and publish the outcome; a change is logged."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            problem = await asyncio.to_thread(sandbox.probe)
        except Exception as exc:  # probe() reports problems itself; anything else is one too
            problem = f"sandbox probe failed: {type(exc).__name__}: {exc}"
        if problem != last:
            if problem:
                log.warning("tool forge: sandbox not available", problem=problem)
            else:
                log.info("tool forge: sandbox available again")
            last = problem
        await _publish_probe(redis, problem, interval_s)


async def shutdown(ctx: dict[str, Any]) -> None:
    prober = ctx.pop("sandbox_prober", None)
    if prober is not None:
        prober.cancel()
        await asyncio.gather(prober, return_exceptions=True)
    llm = ctx.get("own_llm")
    if llm is not None:
        await llm.aclose()


def jobs(settings: ToolForgeSettings) -> list[JobSpec]:
    return [
        JobSpec(create_tool, JOB_CREATE_TOOL, timeout_s=settings.forge_job_timeout_s,
                max_tries=settings.forge_transient_tries + CRASH_HEADROOM_TRIES,
                retry_delay_s=settings.forge_retry_delay_s, log_ids={"job_id": "forge_job_id"}),
        # one try: a call is not idempotent in general, and its caller has stopped waiting by then
        JobSpec(invoke_tool, JOB_INVOKE_TOOL, timeout_s=int(settings.sandbox_timeout_s) + 30, max_tries=1,
                keep_result_s=INVOCATION_RESULT_TTL_S, log_ids={"name": "tool"}),
    ]


async def sweep_abandoned_forge_jobs(ctx: dict[str, Any]) -> int:
    """Fail forge jobs whose job arq dropped after the worker died on every try."""
    forge: ToolForge = ctx["forge"]
    return await fail_abandoned_forge_jobs(ctx["redis"], forge)


WORKER = WorkerKind(
    name="tool_forge", queue=QUEUE_TOOL_FORGE, settings_class=ToolForgeSettings, jobs=jobs,
    max_jobs=lambda settings: settings.forge_max_jobs + settings.forge_max_invocations,
    startup=startup, shutdown=shutdown, sweep=Sweep(sweep_abandoned_forge_jobs),
)
WorkerSettings = WORKER.arq_settings()  # `arq --check workers.tool_forge.worker.WorkerSettings` (health check)
