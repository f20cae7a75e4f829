"""``DatasetStore``: append golden samples to the open version, seal it at the trigger size.

Every write runs under the dataset lock (``layout.DatasetLock``), in this order: find or open
the open version, cut a torn tail, bring the Redis index up to the file, check the content hash
against every version, append one line (fsynced), index it, and seal when the version is full.
Killed at any point, the next writer finds a readable file and an index it can complete; a
re-delivered sample is refused as a duplicate. Sealed versions whose fine-tune was not yet
enqueued are handed to :meth:`fire_pending`, which marks each one on disk once it fired.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis

from shared.datasets.contract import SAMPLES_FILE, TRIGGERED_FILE, DatasetManifest, Sample
from shared.datasets.index import DatasetIndex
from shared.datasets.jsonl import append_line, repair_tail
from shared.datasets.layout import (
    DatasetLock,
    create_version,
    created_at,
    datasets_root,
    fsync_dir,
    is_sealed,
    next_version,
    versions_on_disk,
)
from shared.datasets.seal import load_manifest, seal_version
from shared.keys import DATASETS_INDEX
from shared.personas import SYSTEM_PROMPTS


def content_hash(task: str, response: str) -> str:
    """The deduplication key: what the sample teaches, not where it came from."""
    return hashlib.sha256(json.dumps([task.strip(), response.strip()]).encode()).hexdigest()


@dataclass(frozen=True)
class AppendResult:
    added: bool  # False: the content was already in some version
    version: str
    sample_count: int
    sealed: DatasetManifest | None = None


class DatasetStore:
    """The golden dataset on disk (truth) with its index in Redis."""

    def __init__(self, redis: Redis, data_dir: str | Path, *, trigger_size: int,
                 heldout_fraction: float = 0.1, fsync: bool = True,
                 system_prompts: dict[str, str] | None = None):
        if trigger_size < 1:
            raise ValueError("trigger_size must be >= 1")
        self.root = datasets_root(data_dir)
        self.index = DatasetIndex(redis, self.root)
        self._redis = redis
        self._lock = DatasetLock(self.root)
        self._trigger_size = trigger_size
        self._heldout_fraction = heldout_fraction
        self._fsync = fsync
        self._prompts = system_prompts or SYSTEM_PROMPTS
        self._open: str | None = None

    async def append(self, sample: Sample) -> AppendResult:
        """Append one sample unless its content is already in the dataset."""
        async with self._lock.held():
            version, count = await self._open_version()
            prov = sample.provenance
            if await self.index.is_duplicate(prov.content_hash):
                return AppendResult(False, version, count)
            size = await asyncio.to_thread(append_line, self.root / version / SAMPLES_FILE,
                                           sample.model_dump(mode="json"), fsync=self._fsync)
            count = await self.index.add(version, prov.content_hash, prov.vote, size)
            sealed = await self._seal(version) if count >= self._trigger_size else None
            return AppendResult(True, version, count, sealed)

    async def recover(self) -> None:
        """Index every version from disk (after a Redis flush, or at start-up)."""
        async with self._lock.held():
            await self._recover_locked()

    async def fire_pending(self, fire: Callable[[DatasetManifest], Awaitable[None]]) -> list[DatasetManifest]:
        """Call ``fire`` for each sealed version not yet marked as triggered, then mark it."""
        fired = []
        async with self._lock.held():
            for version in versions_on_disk(self.root):
                directory = self.root / version
                if not is_sealed(self.root, version) or (directory / TRIGGERED_FILE).exists():
                    continue
                manifest = load_manifest(directory)
                await fire(manifest)
                (directory / TRIGGERED_FILE).write_text(repr(time.time()))
                fsync_dir(directory)
                await self.index.mark_triggered(version)
                fired.append(manifest)
        return fired

    async def _recover_locked(self) -> None:
        for version in versions_on_disk(self.root):
            if not is_sealed(self.root, version):
                repair_tail(self.root / version / SAMPLES_FILE)
            await self.index.sync(version)

    async def _open_version(self) -> tuple[str, int]:
        """The open version (created if none), indexed up to its file; seals a full one first."""
        if not await self._redis.exists(DATASETS_INDEX):
            await self._recover_locked()
        while True:
            version = self._open
            if version is None or is_sealed(self.root, version):
                on_disk = versions_on_disk(self.root)
                if on_disk and not is_sealed(self.root, on_disk[-1]):
                    version = on_disk[-1]
                else:
                    version = next_version(self.root)
                    create_version(self.root, version, time.time())
                self._open = version
            repair_tail(self.root / version / SAMPLES_FILE)
            count = int((await self.index.sync(version)).get("sample_count", 0))
            if count < self._trigger_size:
                return version, count
            await self._seal(version)  # a seal that a crash interrupted: finish it

    async def _seal(self, version: str) -> DatasetManifest:
        manifest = seal_version(self.root / version, self._prompts, self._heldout_fraction,
                                created_at(self.root, version))
        await self.index.mark_sealed(manifest)
        self._open = None
        return manifest
