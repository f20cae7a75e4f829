"""Answering one task: the unit of work behind the ``answer_task`` job.

    load record -> running -> BRICK, ROBIN -> ALFRED's dissonance verdict
    -> (inquiry) a pending codex proposal -> interaction on the stream -> record -> events

Each persona's answer is also published as it comes (``persona_answered``, live only), so a
client following the task (``batos task --wait``, the dashboard) sees it before the task ends.

Failure policy (every reason lands in the record): Ollama unreachable -> the task goes back to
queued and the job is retried with back-off, then fails; BRICK's unusable answer -> failed;
ROBIN's -> degraded to BRICK's answer; ALFRED's -> degraded (no dissonance, or no proposal).
A job that finds its task already finished re-announces it and stops (at-least-once jobs).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog
from redis.asyncio import Redis

from shared.errors import LLMBadAnswer, LLMUnreachable, NotFound
from shared.events import EventBus
from shared.events.payloads import PersonaAnswered
from shared.keys import LAST_ACTIVITY, EventType
from shared.llm import ChatBackend
from shared.metrics import DISSONANCE
from shared.personas import PersonaRegistry
from shared.queues.retry import REDIS_LOST, RetryPolicy
from shared.stores.codex import CodexStore
from shared.stores.interactions import Contribution, Interaction, InteractionLog
from shared.stores.status import RunStatus
from shared.stores.tasks import TaskRecord, TaskStore
from workers.cognition.dissonance import judge_dissonance
from workers.cognition.outcome import TaskOutcome, announce
from workers.cognition.pipeline import PersonaPipeline
from workers.cognition.proposal import propose_amendment
from workers.cognition.settings import CognitionSettings

log = structlog.get_logger(__name__)
FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED)


@dataclass
class Cognition:
    """Everything a task needs, made once per worker process (``on_startup``)."""

    settings: CognitionSettings
    redis: Redis
    llm: ChatBackend
    personas: PersonaRegistry
    pipeline: PersonaPipeline
    tasks: TaskStore
    interactions: InteractionLog
    codex: CodexStore
    bus: EventBus

    async def answer(self, task_id: str, job_try: int = 1) -> str:
        """Answer the task; returns its final status (or ``missing``)."""
        try:
            task = await self.tasks.get(task_id)
        except NotFound:
            log.warning("task record missing; job dropped", task_id=task_id)
            return "missing"
        if task.status in FINISHED:
            await announce(self.bus, task, self.settings.dissonance_threshold)
            return task.status
        task = await self.tasks.update(task_id, status=RunStatus.RUNNING, started_at=time.time(),
                                       attempts=task.attempts + 1)  # a retry keeps its last error visible
        await self._touch()
        started = time.perf_counter()
        try:
            outcome = await self._think(task)
        except LLMUnreachable as exc:
            retry = RetryPolicy(self.settings.cognition_llm_tries, self.settings.cognition_retry_delay_s).after(job_try)
            if retry is None:
                return await self._fail(task, f"LLM unreachable after {job_try} tries: {exc}")
            await self.tasks.update(task_id, status=RunStatus.QUEUED, error=f"retrying: {exc}")
            log.warning("LLM unreachable; task will be retried", task_id=task_id, job_try=job_try)
            raise retry from exc
        except LLMBadAnswer as exc:
            return await self._fail(task, f"bad LLM answer: {exc}")
        except REDIS_LOST:
            raise  # nothing can be recorded: the job hook has it run again (shared.queues.hooks)
        except Exception as exc:
            await self._fail(task, f"internal error: {type(exc).__name__}: {exc}")
            raise
        outcome.timings_s["total"] = round(time.perf_counter() - started, 6)
        return await self._succeed(task, outcome)

    async def _think(self, task: TaskRecord) -> TaskOutcome:
        codex = (await self.codex.get()).text if task.is_philosophical_inquiry else None

        async def answered_now(said: Contribution, dissonance: float | None = None) -> None:
            try:  # live news only (the record keeps every answer): never worth redoing the task for
                await self.bus.publish(EventType.PERSONA_ANSWERED, PersonaAnswered(
                    task_id=task.id, attempt=task.attempts, dissonance=dissonance, **said.model_dump()))
            except Exception as exc:
                log.warning("persona answer not announced", task_id=task.id, persona=said.persona, error=str(exc))

        answered = await self.pipeline.run(task.text, codex=codex, on_answer=answered_now)
        outcome = TaskOutcome(response=answered.response, contributions=answered.contributions,
                              degraded=list(answered.degraded),
                              models={c.persona: c.model for c in answered.contributions},
                              timings_s={c.persona: round(c.duration_s or 0.0, 6)
                                         for c in answered.contributions})
        brick, robin = answered.said("BRICK"), answered.said("ROBIN")
        if brick is not None and robin is not None:
            t0 = time.perf_counter()
            try:
                verdict, model = await judge_dissonance(self.llm, self.personas, task.text, brick, robin)
                outcome.dissonance, outcome.dissonance_reason = verdict.dissonance, verdict.reason
                outcome.models["ALFRED"] = model
                await answered_now(Contribution(persona="ALFRED", model=model, content=verdict.reason,
                                                duration_s=round(time.perf_counter() - t0, 6)), verdict.dissonance)
            except LLMBadAnswer as exc:
                outcome.degraded.append(f"dissonance unavailable: ALFRED {exc}")
            outcome.timings_s["ALFRED"] = round(time.perf_counter() - t0, 6)
        else:
            outcome.degraded.append("dissonance unavailable: ROBIN did not answer")
        if task.is_philosophical_inquiry:
            t0 = time.perf_counter()
            try:
                proposal = await propose_amendment(self.llm, self.personas, self.codex, task,
                                                   answered.response)
                outcome.proposal_id = proposal.id if proposal else None
                outcome.proposal_merged = proposal is not None and proposal.task_id != task.id
            except LLMBadAnswer as exc:
                outcome.degraded.append(f"no codex proposal: {exc}")
            outcome.timings_s["codex_draft"] = round(time.perf_counter() - t0, 6)
        return outcome

    async def _succeed(self, task: TaskRecord, outcome: TaskOutcome) -> str:
        interaction = Interaction(
            id=task.id, task_id=task.id, task=task.text, response=outcome.response,
            contributions=outcome.contributions, models=outcome.models, dissonance=outcome.dissonance,
            source=task.source)
        # logged in the same transaction as the success: a job re-run after a kill never logs it twice
        done = await self.tasks.update(task.id, status=RunStatus.SUCCEEDED, finished_at=time.time(),
                                       result=outcome.model_dump(mode="json"), error=None,
                                       atomically_with=self.interactions.append_in(interaction))
        await self._touch()
        if outcome.dissonance is not None:  # counted once: a re-run finds the task finished
            DISSONANCE.observe(outcome.dissonance)
        log.info("task answered", task_id=task.id, source=task.source, dissonance=outcome.dissonance,
                 duration_s=outcome.timings_s.get("total"), models=outcome.models, degraded=outcome.degraded,
                 proposal_id=outcome.proposal_id)
        await announce(self.bus, done, self.settings.dissonance_threshold)
        return done.status

    async def _fail(self, task: TaskRecord, reason: str) -> str:
        done = await self.tasks.update(task.id, status=RunStatus.FAILED, finished_at=time.time(),
                                       error=reason)
        await self._touch()
        log.warning("task failed", task_id=task.id, source=task.source, reason=reason)
        await announce(self.bus, done, self.settings.dissonance_threshold)
        return done.status

    async def _touch(self) -> None:
        await self.redis.set(LAST_ACTIVITY, repr(time.time()))
