"""The fine-tune worker, declared: one fine-tune job at a time, and the sweep of abandoned ones.

    python -m workers.fine_tune

``fine_tune(ctx, persona, dataset_version, fine_tune_id=None)`` (``JOB_FINE_TUNE`` on
``QUEUE_FINE_TUNE``) trains, creates, gates and swaps one sealed dataset version
(``pipeline.FineTuner``). One job at a time (``max_jobs=1``: one GPU), with arq's timeout a
little above the job's own (``fine_tune_job_timeout_s``), so the job ends itself first and
records why. The curator enqueues without an id (the record is ``ft-<version>``); the API's
manual trigger passes the id of the record it created.
"""

from __future__ import annotations

from typing import Any

from shared.events import EventBus
from shared.keys import JOB_FINE_TUNE, QUEUE_FINE_TUNE, fine_tune_id_for_job
from shared.llm import LLMClient
from shared.personas import PersonaRegistry
from shared.queues.declaration import JobSpec, Sweep, WorkerKind
from shared.stores.fine_tunes import FineTuneStore
from workers.fine_tune.pipeline import FineTuner
from workers.fine_tune.settings import FineTuneSettings
from workers.fine_tune.sweep import fail_abandoned_fine_tunes

TIMEOUT_HEADROOM_S = 120  # the job records its own timeout before arq cancels it


async def fine_tune(ctx: dict[str, Any], persona: str, dataset_version: str, fine_tune_id: str | None = None) -> str:
    """Fine-tune ``persona`` on a sealed dataset version; returns the record's final state."""
    tuner: FineTuner = ctx["fine_tuner"]
    return await tuner.run(fine_tune_id or fine_tune_id_for_job(ctx["job_id"]), persona, dataset_version,
                           job_id=ctx["job_id"])


async def sweep_abandoned_fine_tunes(ctx: dict[str, Any]) -> int:
    """Fail fine-tunes whose job arq dropped after the worker died on every try."""
    tuner: FineTuner = ctx["fine_tuner"]
    return await fail_abandoned_fine_tunes(ctx["redis"], tuner.store, tuner.bus)


async def startup(ctx: dict[str, Any]) -> None:
    settings: FineTuneSettings = ctx["settings"]
    redis = ctx["redis"]
    llm = LLMClient(settings.ollama_host, settings.llm_timeout_s)
    ctx["llm"] = llm
    ctx["fine_tuner"] = FineTuner(
        settings=settings, redis=redis, llm=llm, personas=PersonaRegistry.from_settings(redis, settings),
        store=FineTuneStore(redis),
        bus=EventBus(redis, source=settings.service_name, journal_maxlen=settings.event_journal_maxlen),
    )


async def shutdown(ctx: dict[str, Any]) -> None:
    llm = ctx.get("llm")
    if llm is not None:
        await llm.aclose()


def jobs(settings: FineTuneSettings) -> list[JobSpec]:
    return [JobSpec(fine_tune, JOB_FINE_TUNE, timeout_s=settings.fine_tune_job_timeout_s + TIMEOUT_HEADROOM_S,
                    max_tries=settings.fine_tune_max_tries,
                    log_ids={name: name for name in ("fine_tune_id", "persona", "dataset_version")})]


WORKER = WorkerKind(
    name="fine_tune", queue=QUEUE_FINE_TUNE, settings_class=FineTuneSettings, jobs=jobs,
    max_jobs=lambda _settings: 1,  # one GPU
    startup=startup, shutdown=shutdown, sweep=Sweep(sweep_abandoned_fine_tunes),
)
WorkerSettings = WORKER.arq_settings()  # `arq --check workers.fine_tune.worker.WorkerSettings` (health check)
