"""One fine-tune, stage by stage: dataset -> adapter -> Ollama model -> gate -> swap.

``FineTuner.run`` is what the job calls. Each stage moves the record (``shared.stores.fine_tunes``)
before it starts, so ``GET /v1/fine-tunes/{id}`` tells where a job is and a failure names its
stage; within training, ``phase`` moves ``loading_base`` -> ``training`` (first step) -> ``saving``
(last step). Any exception ends in ``failed`` with the persona on its old model and the dataset
version untouched (it is only read); a created but unused Ollama tag is deleted. Re-runs are
safe: a terminal record is left alone, a finished adapter is reused, the tag is chosen once per
fine-tune, and a run killed right after the swap is finished instead of swapped twice. A
curator-triggered fine-tune that starts after a newer version was sealed for the same persona
is ``superseded`` (recorded, nothing trained): stale jobs don't pile up behind fresh data.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import structlog
from redis.asyncio import Redis

from shared.datasets import TrainingSet, list_versions, load_training_set
from shared.events import EventBus
from shared.events.payloads import FineTuneProgress
from shared.keys import EventType
from shared.llm import LLMClient, persona_context
from shared.metrics import record_fine_tune
from shared.personas import PersonaRegistry
from shared.queues.retry import REDIS_LOST
from shared.stores.fine_tunes import (
    FineTunePhase,
    FineTuneRecord,
    FineTuneState,
    FineTuneStore,
    Progress,
    thin_curve,
)
from workers.fine_tune import swap
from workers.fine_tune.evaluation import Judge, evaluate
from workers.fine_tune.ollama_model import GgufRoute, create_tuned_model, delete_model, model_tag
from workers.fine_tune.settings import FineTuneSettings
from workers.fine_tune.train_process import train_in_child, trainer_python
from workers.fine_tune.train_types import TrainProgress, resolve_backend

log = structlog.get_logger(__name__)


@dataclass
class FineTuner:
    settings: FineTuneSettings
    redis: Redis
    llm: LLMClient
    personas: PersonaRegistry
    store: FineTuneStore
    bus: EventBus

    async def run(self, fine_tune_id: str, persona: str, dataset_version: str, job_id: str | None = None) -> str:
        """Run (or finish, or skip) one fine-tune; returns the record's final state."""
        record, _ = await self.store.create(FineTuneRecord(
            id=fine_tune_id, persona=persona.upper(), dataset_version=dataset_version, job_id=job_id))
        if record.terminal:
            log.info("fine_tune.already_done", fine_tune_id=fine_tune_id, state=record.state)
            return record.state
        if job_id is not None and record.job_id != job_id:
            await self.store.update(record.id, job_id=job_id)  # what the abandoned-job sweep checks
        stage, tag = "job", None
        try:
            async with asyncio.timeout(self.settings.fine_tune_job_timeout_s):
                target = self.personas.persona(record.persona)
                job = await asyncio.to_thread(load_training_set, self.settings.data_dir, dataset_version,
                                              record.persona)
                tag = record.model_tag or model_tag(self.settings.fine_tune_tag_prefix, target.name,
                                                    dataset_version)
                if await swap.resume_swapped(self.personas, self.store, self.bus, record, tag):
                    return FineTuneState.SWAPPED
                newer = await self._newer_version(record)
                if newer is not None:
                    await swap.supersede(self.store, self.bus, record, newer)
                    return FineTuneState.SUPERSEDED
                if job.heldout_count < self.settings.fine_tune_eval_min_samples:  # the gate could not pass
                    reason = (f"dataset {dataset_version} holds out {job.heldout_count} samples; the gate needs at "
                              f"least {self.settings.fine_tune_eval_min_samples} (nothing trained)")
                    await swap.reject(self.store, self.bus, record, tag, reason, {})
                    return FineTuneState.REJECTED
                stage = "training"
                adapter_dir = await self._train(record, job, target.hf_base, tag)
                stage = "create"
                await self.store.update(record.id, state=FineTuneState.CREATING, phase=None)
                await create_tuned_model(self.llm, tag, target.ollama_base, adapter_dir, target.hf_base,
                                         self._gguf_route())
                stage = "evaluation"
                return await self._gate_and_swap(record, job, tag)
        except asyncio.CancelledError:
            raise  # shutdown: arq runs the job again; the record says where it stopped
        except REDIS_LOST:
            raise  # nothing can be recorded: the job hook has it run again (a finished adapter is reused)
        except Exception as exc:  # every failure ends in a failed record and event
            reason = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
            await swap.fail(self.store, self.bus, record, f"{stage}: {reason}")
            if tag is not None and stage in ("create", "evaluation"):
                await self._discard(tag)
            return FineTuneState.FAILED

    async def _newer_version(self, record: FineTuneRecord) -> str | None:
        """A version sealed for the same persona after this one (curator-triggered jobs only)."""
        if record.source != "curator" or record.state != FineTuneState.QUEUED:
            return None
        newer = [v.version for v in await list_versions(self.redis, self.settings.data_dir)
                 if v.state == "sealed" and v.persona == record.persona and v.version > record.dataset_version]
        return max(newer) if newer else None

    async def _train(self, record: FineTuneRecord, job: TrainingSet, hf_base: str, tag: str) -> Path:
        config = self.settings.to_train_config()
        backend = await asyncio.to_thread(resolve_backend, config.backend)
        output_dir = Path(self.settings.fine_tune_output_dir) / record.persona / record.id
        # loading_base until the child reports its first step (loading a 3B base takes minutes);
        # a re-run starts from scratch, so the last run's progress and curve go
        await self.store.update(record.id, state=FineTuneState.TRAINING, phase=FineTunePhase.LOADING_BASE,
                                progress=Progress(max_steps=config.max_steps), curve=[], model_tag=tag,
                                backend=backend, attempts=record.attempts + 1, started_at=time.time(), reason=None)
        curve: list[tuple[int, float]] = []

        async def on_progress(p: TrainProgress) -> None:
            if p.loss is not None:
                curve.append((p.step, p.loss))
            progress = Progress(step=p.step, max_steps=p.max_steps, loss=p.loss, learning_rate=p.learning_rate,
                                eta_s=p.eta_s)
            record_fine_tune(record.persona, record.id, step=p.step, loss=p.loss, tokens_per_s=p.tokens_per_s)
            phase = FineTunePhase.SAVING if 0 < p.max_steps <= p.step else FineTunePhase.TRAINING
            await self.store.update(record.id, phase=phase, progress=progress, curve=thin_curve(curve))
            await self.bus.publish(EventType.FINE_TUNE_PROGRESS, FineTuneProgress(
                fine_tune_id=record.id, persona=record.persona, **progress.model_dump()))

        async def on_start(pid: int) -> None:
            log.info("training.started", fine_tune_id=record.id, pid=pid, backend=backend)

        python = trainer_python(backend, self.settings.fine_tune_unsloth_python, self.settings.fine_tune_python)
        result = await train_in_child(python, hf_base, Path(job.path), output_dir,
                                      dataclasses.replace(config, backend=backend), on_progress, on_start)
        await self.store.update(record.id, training=result)
        record_fine_tune(record.persona, record.id, step=result.get("steps"), loss=result.get("final_loss"),
                         tokens_per_s=result.get("tokens_per_s"))
        return output_dir

    async def _gate_and_swap(self, record: FineTuneRecord, job: TrainingSet, tag: str) -> str:
        current = await self.personas.current_model(record.persona)
        await self.store.update(record.id, state=FineTuneState.EVALUATING, previous_model=current)
        alfred = self.personas.persona("ALFRED")
        with persona_context(record.persona):  # the answers compared; the judge's calls are ALFRED's
            gate = await evaluate(
                self.llm, Path(job.heldout_path), tag, current,
                Judge(await self.personas.current_model(alfred.name), alfred.system_prompt),
                threshold=self.settings.fine_tune_gate_threshold,
                max_samples=self.settings.fine_tune_eval_max_samples,
                min_samples=self.settings.fine_tune_eval_min_samples,
                concurrency=self.settings.fine_tune_eval_concurrency,
            )
        if not gate.accepted:
            reason = gate.why_rejected()
            await swap.reject(self.store, self.bus, record, tag, reason, gate.to_json())
            await self._discard(tag)
            return FineTuneState.REJECTED
        await swap.swap_in(self.personas, self.store, self.bus, record, tag, current, gate.to_json())
        return FineTuneState.SWAPPED

    def _gguf_route(self) -> GgufRoute | None:
        if not self.settings.fine_tune_gguf_route:
            return None
        return GgufRoute(self.settings.fine_tune_gguf_converter, self.settings.fine_tune_python or sys.executable)

    async def _discard(self, tag: str) -> None:
        if self.settings.fine_tune_delete_unused_models and not await self._in_use(tag):
            await delete_model(self.llm, tag)

    async def _in_use(self, tag: str) -> bool:
        return any(s.model == tag or s.previous_model == tag for s in await self.personas.all())
