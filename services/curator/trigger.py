"""The fine-tune trigger: one job per sealed version, for the persona its vote chose.

Sealing and triggering are separate steps so a crash between them loses nothing: a sealed
version on disk without its ``fine_tune_enqueued`` marker is triggered by whichever curator
looks next (after each seal, at start-up, on every claim tick), under the dataset lock. The
job's id is ``fine_tune:<version>``, so even a trigger repeated after a crash between enqueue
and marker enqueues nothing while the first job is queued, running or its result is kept.
"""

from __future__ import annotations

import structlog
from arq.connections import ArqRedis

from shared.datasets import DatasetManifest, DatasetStore
from shared.events import EventBus
from shared.keys import JOB_FINE_TUNE, QUEUE_FINE_TUNE, EventType, fine_tune_queue_job_id
from shared.queues import enqueue

log = structlog.get_logger(__name__)


class FineTuneTrigger:
    def __init__(self, redis: ArqRedis, bus: EventBus, store: DatasetStore):
        self._redis = redis
        self._bus = bus
        self._store = store

    async def fire_pending(self) -> list[DatasetManifest]:
        """Trigger every sealed version not yet triggered; returns those triggered now."""
        return await self._store.fire_pending(self._fire)

    async def _fire(self, manifest: DatasetManifest) -> None:
        job = await enqueue(self._redis, QUEUE_FINE_TUNE, JOB_FINE_TUNE, manifest.persona, manifest.version,
                            idempotency_key=fine_tune_queue_job_id(manifest.version))
        await self._bus.publish(EventType.DATASET_SEALED, {
            "version": manifest.version, "persona": manifest.persona, "sample_count": manifest.sample_count,
            "train_count": manifest.train_count, "heldout_count": manifest.heldout_count,
            "sha256": manifest.sha256, "votes": manifest.votes,
            "path": str(self._store.root / manifest.version)})
        log.info("fine-tune triggered", version=manifest.version, persona=manifest.persona,
                 samples=manifest.sample_count, enqueued=job is not None)
