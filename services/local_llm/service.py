"""The server's state in one object: tags, blobs, the generation thread and the model on it.

``start()`` binds nothing and blocks nothing: it starts the generation thread and queues the
model load as its first job (preparing the model folder first when it is missing), so the HTTP
server answers at once. A request submitted while the model loads waits behind that job for at
most ``local_llm_load_wait_s`` (then 503); once a load has failed, model requests get 500 with
the reason, as Ollama answers a runner that failed to start.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

from services.local_llm.blobs import BlobStore
from services.local_llm.engine import Engine
from services.local_llm.errors import ApiError, BadRequest, ModelNotFound, ServerBusy
from services.local_llm.registry import ModelEntry, Registry
from services.local_llm.scheduler import Busy, Failed, Finished, Job, Scheduler
from services.local_llm.settings import LocalLLMSettings

log = structlog.get_logger(__name__)


class LocalLLM:
    def __init__(self, settings: LocalLLMSettings):
        self.settings = settings
        state = settings.state_dir()
        self.model_path = settings.model_path()
        self.adapters_dir = state / "adapters"
        self.blobs = BlobStore(state / "blobs")
        base_time = self.model_path.stat().st_mtime if self.model_path.exists() else 0.0
        self.registry = Registry(state / "registry.json", settings.local_llm_base_tag, base_time)
        self.scheduler = Scheduler(settings.local_llm_max_queue)
        self.engine = Engine(settings)
        self.started_at = time.time()
        self._load_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.scheduler.start()
        job = self.scheduler.submit(self.engine.load, counted=False)
        self._load_task = asyncio.create_task(self._watch_load(job))
        log.info("local_llm_started", model=str(self.model_path), base_tag=self.registry.base_tag,
                 tags=len(self.registry.all()))

    async def stop(self) -> None:
        await asyncio.to_thread(self.scheduler.shutdown)
        if self._load_task is not None:
            self._load_task.cancel()

    async def _watch_load(self, job: Job) -> None:
        try:
            await job.result()
        except Exception:  # logged by the engine; requests see engine.error
            return

    @property
    def loading(self) -> bool:
        return not self.engine.ready and self.engine.error is None

    # --- models -------------------------------------------------------------------------------
    def resolve(self, name: str) -> ModelEntry:
        if not name:
            raise BadRequest("model is required")
        entry = self.registry.get(name)
        if entry is None:
            raise ModelNotFound(name)
        return entry

    def adapter_of(self, entry: ModelEntry) -> tuple[str, Path] | None:
        if entry.adapter_id is None:
            return None
        return entry.adapter_id, self.adapters_dir / entry.adapter_id

    # --- running jobs on the generation thread ------------------------------------------------
    async def submit(self, fn: Callable[[Job], Any], *, counted: bool = True) -> tuple[Job, Any, int]:
        """Queue ``fn``; return the job, its first event and the ns spent waiting for the model load.

        Waiting for the load is bounded; an error raised before the first event (bad schema,
        failed load) is raised here, so the caller can still answer with its status code.
        """
        loading, waited = self.loading, time.perf_counter()
        try:
            job = self.scheduler.submit(fn, counted=counted)
        except Busy as exc:
            raise ServerBusy(str(exc)) from None
        try:
            timeout = self.settings.local_llm_load_wait_s if loading else None
            first = await asyncio.wait_for(job.channel.next(), timeout)
        except TimeoutError:
            self.scheduler.cancel(job)
            raise ServerBusy("timed out waiting for the model to load") from None
        except BaseException:
            self.scheduler.cancel(job)
            raise
        if isinstance(first, Failed):
            raise as_api_error(first.error)
        return job, first, int((time.perf_counter() - waited) * 1e9) if loading else 0

    async def call(self, fn: Callable[[Job], Any], *, counted: bool = False) -> tuple[Any, int]:
        """Run a job that only returns a value (embed, adapter load/unload): ``(value, load_wait_ns)``."""
        job, first, load_ns = await self.submit(fn, counted=counted)
        return (first.value if isinstance(first, Finished) else await job.result()), load_ns


def as_api_error(error: BaseException) -> ApiError:
    """A worker-thread failure as the error the request answers with (anything unforeseen: 500)."""
    return error if isinstance(error, ApiError) else ApiError(f"{type(error).__name__}: {error}")
