"""How the system stands now, read from Redis (and one LLM ping): ``GET /v1/status`` and ``/healthz``.

``system_status(redis, llm, personas)`` gathers, without Docker access or any worker's help:

* Redis: answers or not (``down`` when not: nothing else can be read, no task can be accepted);
* the LLM server: answers ``/api/ps`` or not;
* the sandbox: the tool-forge worker's last probe (``publish_sandbox_probe``, a key with a TTL
  that the worker refreshes every ``SANDBOX_PROBE_INTERVAL_S``); ``null`` when no forge worker
  reported lately;
* per arq queue: its depth, the jobs workers hold, how long the oldest waiting job has waited,
  and how many worker processes of its kind beat (``shared.heartbeat``);
* the services' processes alive (motivator, curator) and each persona's current model.

``status`` is ``down`` when Redis does not answer, ``degraded`` when the LLM server does not
answer, the sandbox probe failed, or a queue has no worker alive, else ``ok``; ``reasons`` says why.
"""

from __future__ import annotations

import asyncio
import time
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from shared.heartbeat import alive_counts, instance_id
from shared.keys import QUEUE_COGNITION, QUEUE_FINE_TUNE, QUEUE_TOOL_FORGE, SANDBOX_PROBE
from shared.personas import PersonaRegistry
from shared.queues.stats import queue_stats

QUEUES: tuple[tuple[str, str], ...] = (
    ("cognition", QUEUE_COGNITION), ("tool_forge", QUEUE_TOOL_FORGE), ("fine_tune", QUEUE_FINE_TUNE),
)  # fmt: skip
SERVICES: tuple[str, ...] = ("motivator", "curator")
SANDBOX_PROBE_INTERVAL_S = 60.0
SANDBOX_PROBE_TTL_S = 3 * SANDBOX_PROBE_INTERVAL_S
TIMEOUT_S = 2.0


class Overall(StrEnum):
    """The verdict on the whole system: ``ok``; ``degraded`` (the LLM server or the sandbox unreachable,
    or a queue without a worker: tasks are accepted and wait); ``down`` (Redis unreachable)."""

    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"


class Pingable(Protocol):
    async def ping(self) -> list[str]: ...


# --- the sandbox probe, written by the tool-forge worker ----------------------------------------------
class SandboxProbe(BaseModel):
    """The tool-forge worker's last look at the sandbox (Docker engine, runtime, image)."""

    reachable: bool
    error: str | None = None
    checked_at: float
    instance: str = Field(description="the worker process that probed (hostname:pid)")


async def publish_sandbox_probe(redis: Redis, problem: str | None, ttl_s: float = SANDBOX_PROBE_TTL_S,
                                instance: str | None = None) -> SandboxProbe:
    """Record this worker's probe (``problem`` None: reachable), good for ``ttl_s`` seconds. Each
    forge replica has its own field: one on a broken engine is not hidden by a healthy one."""
    probe = SandboxProbe(reachable=problem is None, error=problem, checked_at=time.time(),
                         instance=instance or instance_id())
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(SANDBOX_PROBE, probe.instance, probe.model_dump_json())
        pipe.expire(SANDBOX_PROBE, max(1, round(ttl_s)))  # all gone when no forge worker probes any more
        await pipe.execute()
    return probe


# KEYS: the probes hash; ARGV: instance, the value read. Deletes the field only if it still holds that value.
_FORGET_UNCHANGED = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
"""


async def read_sandbox_probe(redis: Redis, ttl_s: float = SANDBOX_PROBE_TTL_S) -> SandboxProbe | None:
    """The probe that speaks for the sandbox: a failing one among the recent ones (the latest), else
    the latest; ``None`` when no forge worker probed within ``ttl_s``."""
    recent: list[SandboxProbe] = []
    for instance, raw in (await redis.hgetall(SANDBOX_PROBE)).items():
        try:
            probe = SandboxProbe.model_validate_json(raw)
        except ValidationError:
            probe = None
        if probe is None or probe.checked_at < time.time() - ttl_s:  # a replica gone (or garbage): forget it,
            await redis.eval(_FORGET_UNCHANGED, 1, SANDBOX_PROBE, instance, raw)  # unless it just probed again
            continue
        recent.append(probe)
    failing = [probe for probe in recent if not probe.reachable]
    return max(failing or recent, key=lambda probe: probe.checked_at, default=None)


# --- what /v1/status answers ------------------------------------------------------------------------
class LLMStatus(BaseModel):
    """Whether the LLM server (Ollama's API) answered, and why not when it did not."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"reachable": True, "error": None},
        {"reachable": False, "error": "Ollama at http://127.0.0.1:11434 unreachable: connection refused"}]})

    reachable: bool = Field(description="the LLM server (Ollama's API) answered /api/ps")
    error: str | None = Field(default=None, description="why not, when it did not")


class SandboxStatus(BaseModel):
    """The sandbox as the tool-forge worker last probed it (Docker engine, runtime, image), if lately."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"reachable": True, "error": None, "checked_at": 1767225590.0},
        {"reachable": None, "error": "unknown: no tool-forge worker probed it in the last 180 s",
         "checked_at": None}]})

    reachable: bool | None = Field(
        description="the tool-forge worker's last probe found the Docker engine, the runtime and the image; "
                    "null when no forge worker reported lately")
    error: str | None = Field(default=None, description="what is missing, or why nothing is known")
    checked_at: float | None = Field(default=None, description="unix time of that probe")


class QueueStatus(BaseModel):
    """One arq queue: how many jobs it holds, how many run, how long the oldest has waited, and its workers."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"kind": "cognition", "queue": "batos:queue:cognition", "depth": 3, "running": 2, "oldest_age_s": 4.2,
         "workers_alive": 2}]})

    kind: str = Field(description="the worker kind that serves the queue")
    queue: str = Field(description="the arq queue (a Redis sorted set)")
    depth: int = Field(description="jobs in the queue: waiting, deferred for a retry, or running "
                                   "(arq keeps a job in its queue until it ends)")
    running: int = Field(description="jobs a worker holds now (counted among the first 100 due)")
    oldest_age_s: float | None = Field(
        description="seconds the oldest due job that no worker holds has waited; null when none waits")
    workers_alive: int = Field(description="worker processes of this kind whose heartbeat is fresh")


class ServiceStatus(BaseModel):
    """A long-running service (motivator, curator) and how many of its processes are alive."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "curator", "alive": 2}]})

    name: str = Field(description="the service: motivator or curator")
    alive: int = Field(description="processes of this service whose heartbeat is fresh")


class PersonaStatus(BaseModel):
    """A persona and the model it speaks through now (a fine-tuned one after a swap)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"name": "BRICK", "model": "batos-brick:20260101T120145-v000003", "default_model": "llama3.2:3b",
         "previous_model": "llama3.2:3b", "updated_at": 1767268900.0}]})

    name: str = Field(description="the persona: BRICK, ROBIN, ALFRED, ...")
    model: str = Field(description="the Ollama tag the persona speaks through now")
    default_model: str = Field(description="the model it was configured with, before any swap")
    previous_model: str | None = Field(default=None, description="what a rollback would restore")
    updated_at: float | None = Field(default=None, description="unix time of the last swap or rollback")


STATUS_EXAMPLE: dict[str, Any] = {
    "status": "degraded", "reasons": ["no fine_tune worker alive (1 jobs in batos:queue:fine_tune)"], "redis": "ok",
    "llm": {"reachable": True, "error": None},
    "sandbox": {"reachable": True, "error": None, "checked_at": 1767225590.0},
    "queues": [
        {"kind": "cognition", "queue": "batos:queue:cognition", "depth": 3, "running": 2, "oldest_age_s": 4.2,
         "workers_alive": 2},
        {"kind": "tool_forge", "queue": "batos:queue:tool_forge", "depth": 0, "running": 0, "oldest_age_s": None,
         "workers_alive": 1},
        {"kind": "fine_tune", "queue": "batos:queue:fine_tune", "depth": 1, "running": 0, "oldest_age_s": 61.0,
         "workers_alive": 0}],
    "services": [{"name": "motivator", "alive": 1}, {"name": "curator", "alive": 2}],
    "personas": [{"name": "BRICK", "model": "batos-brick:20260101T120145-v000003", "default_model": "llama3.2:3b",
                  "previous_model": "llama3.2:3b", "updated_at": 1767268900.0}],
    "checked_at": 1767225600.0,
}


class SystemStatus(BaseModel):
    """The whole system at a glance: ``GET /v1/status``."""

    model_config = ConfigDict(json_schema_extra={"examples": [STATUS_EXAMPLE]})

    status: Overall = Field(description="ok; degraded (LLM or sandbox unreachable, or a queue without a "
                                        "worker: tasks are accepted and wait); down (Redis unreachable)")
    reasons: list[str] = Field(default_factory=list, description="why not ok, one line each")
    redis: str = Field(description="ok, or unreachable: <why>")
    llm: LLMStatus = Field(description="the LLM server: answered /api/ps or not")
    sandbox: SandboxStatus = Field(description="the tool-forge worker's last probe of the sandbox")
    queues: list[QueueStatus] = Field(default_factory=list, description=(
        "each arq queue: depth, running jobs, oldest waiting job, workers alive; empty when Redis is down"))
    services: list[ServiceStatus] = Field(default_factory=list, description=(
        "the services' processes alive (motivator, curator); empty when Redis is down"))
    personas: list[PersonaStatus] = Field(default_factory=list, description=(
        "each persona's current model; empty when Redis is down"))
    checked_at: float = Field(default_factory=time.time, description="unix time of this report")


async def system_status(redis: Redis, llm: Pingable, personas: PersonaRegistry | None = None,
                        timeout_s: float = TIMEOUT_S) -> SystemStatus:
    """The report; ``personas`` None leaves them out (``/healthz`` does not need them)."""
    llm_check = asyncio.create_task(_llm_status(llm, timeout_s))
    try:
        async with asyncio.timeout(timeout_s):
            await redis.ping()
            queues = await queue_statuses(redis)
            alive = await alive_counts(redis, list(SERVICES))
            probe = await read_sandbox_probe(redis)
            persona_rows = [] if personas is None else [
                PersonaStatus(name=s.persona.name, model=s.model, default_model=s.persona.default_model,
                              previous_model=s.previous_model, updated_at=s.updated_at)
                for s in await personas.all()]
    except (RedisError, OSError, TimeoutError) as exc:
        why = _describe(exc, timeout_s)
        return SystemStatus(status=Overall.DOWN, reasons=[f"redis unreachable: {why}"], redis=f"unreachable: {why}",
                            llm=await llm_check,
                            sandbox=SandboxStatus(reachable=None, error="unknown: Redis is unreachable"))
    except BaseException:
        llm_check.cancel()
        raise
    llm_status = await llm_check
    sandbox = _sandbox_status(probe)
    reasons = []
    if not llm_status.reachable:
        reasons.append(f"llm unreachable: {llm_status.error}")
    if sandbox.reachable is False:
        reasons.append(f"sandbox unreachable: {sandbox.error}")
    reasons += [f"no {q.kind} worker alive ({q.depth} jobs in {q.queue})" for q in queues if q.workers_alive == 0]
    return SystemStatus(status=Overall.DEGRADED if reasons else Overall.OK, reasons=reasons, redis="ok",
                        llm=llm_status, sandbox=sandbox, queues=queues,
                        services=[ServiceStatus(name=name, alive=alive[name]) for name in SERVICES],
                        personas=persona_rows)


async def queue_statuses(redis: Redis, queues: tuple[tuple[str, str], ...] = QUEUES) -> list[QueueStatus]:
    """Depth, running jobs, oldest waiting age (``shared.queues.stats``) and workers alive of each queue."""
    stats = await queue_stats(redis, [queue for _kind, queue in queues])
    workers = await alive_counts(redis, [kind for kind, _queue in queues])
    return [QueueStatus(kind=kind, queue=queue, depth=stat.depth, running=stat.running,
                        oldest_age_s=stat.oldest_age_s or None,  # 0.0 there: nothing waits
                        workers_alive=workers[kind])
            for (kind, queue), stat in zip(queues, stats, strict=True)]


def _sandbox_status(probe: SandboxProbe | None) -> SandboxStatus:
    if probe is None:
        return SandboxStatus(reachable=None, error=f"unknown: no tool-forge worker probed it in the last "
                                                    f"{SANDBOX_PROBE_TTL_S:g} s")
    return SandboxStatus(reachable=probe.reachable, error=probe.error, checked_at=probe.checked_at)


async def _llm_status(llm: Pingable, timeout_s: float) -> LLMStatus:
    try:
        await asyncio.wait_for(llm.ping(), timeout_s)
    except Exception as exc:  # LLMUnreachable, a timeout, or anything else: not a usable server
        return LLMStatus(reachable=False, error=_describe(exc, timeout_s))
    return LLMStatus(reachable=True)


def _describe(exc: BaseException, timeout_s: float) -> str:
    if isinstance(exc, TimeoutError) and not str(exc):
        return f"no answer within {timeout_s:g} s"
    return str(exc) or type(exc).__name__


