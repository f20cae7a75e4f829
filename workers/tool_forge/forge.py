"""A forge job from spec to registered tool: the attempt loop, the record, the events.

    record running -> attempts (error fed back) -> register -> succeeded -> tool_created
                                        \\-> all attempts failed -> failed -> tool_forge_failed

State changes first, the event after. A job re-run after a crash resumes from its recorded
attempts; one that finds its record finished re-announces it (events are at-most-once, the
motivator deduplicates by tool and version). Ollama or the sandbox being unreachable is not
an attempt: the job goes back to ``queued`` and is retried with back-off, then fails.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import structlog

from shared.errors import LLMUnreachable, NotFound, SandboxUnavailable
from shared.events import EventBus
from shared.events.payloads import ToolCreated
from shared.keys import EventType
from shared.llm import ChatBackend, persona_context
from shared.personas import PersonaRegistry
from shared.queues.retry import REDIS_LOST, RetryPolicy
from shared.sandbox import Sandbox
from shared.stores.status import RunStatus
from shared.tools import CheckedTool, ForgeJob, ForgeJobStore, ToolRegistry, ToolSpec
from workers.tool_forge.attempt import AttemptLimits, make_attempt
from workers.tool_forge.prompts import conversation
from workers.tool_forge.settings import ToolForgeSettings

log = structlog.get_logger(__name__)


@dataclass
class ToolForge:
    """Everything a forge job needs, made once per worker process."""

    settings: ToolForgeSettings
    llm: ChatBackend
    personas: PersonaRegistry
    sandbox: Sandbox
    registry: ToolRegistry
    jobs: ForgeJobStore
    bus: EventBus
    slots: asyncio.Semaphore = field(init=False)  # forge jobs at once; tool calls share the worker's arq slots

    def __post_init__(self) -> None:
        self.slots = asyncio.Semaphore(self.settings.forge_max_jobs)

    @property
    def limits(self) -> AttemptLimits:
        s = self.settings
        return AttemptLimits(tuple(s.forge_allowed_imports), s.forge_test_timeout_s, s.forge_code_chars,
                             s.forge_output_chars)

    async def run(self, job_id: str, spec: ToolSpec, job_try: int = 1, queue_job_id: str | None = None) -> str:
        """Forge the tool; returns the job's final status. ``queue_job_id``: the arq job running it."""
        job, _ = await self.jobs.create(ForgeJob(id=job_id, spec=spec))  # a job enqueued without a record
        if job.status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
            await self._announce(job)
            return job.status
        try:
            async with self.slots:
                await self.jobs.update(job_id, status=RunStatus.RUNNING, error=None, queue_job_id=queue_job_id)
                return await self._attempts(job)
        except (LLMUnreachable, SandboxUnavailable) as exc:
            retry = RetryPolicy(self.settings.forge_transient_tries, self.settings.forge_retry_delay_s).after(job_try)
            if retry is None:
                return await self._fail(job_id, f"{type(exc).__name__} after {job_try} tries: {exc}")
            await self.jobs.update(job_id, status=RunStatus.QUEUED, error=f"retrying: {exc}")
            log.warning("tool forge: transient failure, job will be retried", job_id=job_id, error=str(exc))
            raise retry from exc
        except REDIS_LOST:
            raise  # nothing can be recorded: the job hook has it run again (shared.queues.hooks)
        except Exception as exc:
            await self._fail(job_id, f"internal error: {type(exc).__name__}: {exc}")
            raise

    async def _attempts(self, job: ForgeJob) -> str:
        attempts = list(job.attempts)
        brick = self.personas.persona("BRICK")
        while len(attempts) < self.settings.forge_max_attempts:
            model = await self.personas.current_model("BRICK")  # a swap is used from the next attempt
            messages = conversation(brick.system_prompt, job.spec, self.limits.allowed_imports, attempts)
            with persona_context("BRICK"):
                attempt, checked = await make_attempt(len(attempts) + 1, self.llm, model, messages, job.spec,
                                                      self.sandbox, self.limits)
            attempts = await self.jobs.add_attempt(job.id, attempt)
            log.info("tool forge attempt", job_id=job.id, attempt=attempt.number, outcome=attempt.outcome,
                     reason=attempt.reason[:200], duration_s=attempt.duration_s)
            if checked is not None:
                return await self._succeed(job, checked, attempt.test_output)
        reasons = "; ".join(f"#{a.number} {a.outcome}: {a.reason.splitlines()[0] if a.reason else ''}"
                            for a in attempts)
        return await self._fail(job.id, f"no attempt passed ({len(attempts)} made): {reasons}")

    async def _succeed(self, job: ForgeJob, checked: CheckedTool, output: str) -> str:
        try:
            known = await self.registry.versions(checked.name)
        except NotFound:
            known = []
        mine = next((v for v in known if v.forge_job_id == job.id), None)  # registered before a crash
        tool = mine or await self.registry.register(checked, test_output=output, spec=job.spec.description,
                                                    forge_job_id=job.id)
        await self.jobs.update(job.id, status=RunStatus.SUCCEEDED, tool_name=tool.name, version=tool.version,
                               error=None, finished_at=time.time())
        log.info("tool forged", job_id=job.id, tool=tool.name, version=tool.version)
        await self._announce(await self.jobs.get(job.id))
        return RunStatus.SUCCEEDED

    async def fail_abandoned(self, job_id: str, reason: str) -> str:
        """Fail a job that no worker will finish (the sweep); announced like any failure."""
        return await self._fail(job_id, reason)

    async def _fail(self, job_id: str, reason: str) -> str:
        await self.jobs.update(job_id, status=RunStatus.FAILED, error=reason, finished_at=time.time())
        log.warning("tool forge failed", job_id=job_id, reason=reason[:500])
        await self._announce(await self.jobs.get(job_id))
        return RunStatus.FAILED

    async def _announce(self, job: ForgeJob) -> None:
        if job.status is RunStatus.SUCCEEDED and job.tool_name and job.version:
            await self.bus.publish(EventType.TOOL_CREATED,
                                   ToolCreated.model_validate({"tool_name": job.tool_name, "version": job.version,
                                                               "job_id": job.id}))
        elif job.status is RunStatus.FAILED:
            await self.bus.publish(EventType.TOOL_FORGE_FAILED, {
                "job_id": job.id, "spec": job.spec.description[:500], "reason": job.error or "",
                "attempts": [{"number": a.number, "outcome": a.outcome, "reason": a.reason[:500]}
                             for a in job.attempts]})
