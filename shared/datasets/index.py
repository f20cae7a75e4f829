"""The Redis index of the dataset files: versions, counts, votes, content hashes.

The files are the truth; this index is rebuilt from them. Each version's hash
(``dataset_key``) records ``indexed_bytes``: how much of its ``samples.jsonl`` the index has
seen. A line appended by a process that died before indexing it is picked up by the next
writer (``sync``), and after a Redis flush every version is indexed again from disk.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from shared.datasets.contract import SAMPLES_FILE, TRIGGERED_FILE, VOTE_NAMES, DatasetManifest
from shared.datasets.jsonl import read_records
from shared.datasets.layout import created_at, is_sealed
from shared.datasets.seal import load_manifest
from shared.keys import DATASETS_INDEX, dataset_hashes_key, dataset_key


def decode(raw: dict[Any, Any]) -> dict[str, str]:
    return {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in raw.items()}


class DatasetIndex:
    """Reads and writes the index; every write happens under the dataset lock."""

    def __init__(self, redis: Redis, root: Path):
        self._redis = redis
        self._root = root

    async def versions(self) -> list[str]:
        raw = await self._redis.zrange(DATASETS_INDEX, 0, -1)
        return [v.decode() if isinstance(v, bytes) else v for v in raw]

    async def record(self, version: str) -> dict[str, str]:
        return decode(await self._redis.hgetall(dataset_key(version)))

    async def is_duplicate(self, content_hash: str) -> bool:
        """Is this content in any version (a re-delivery after a seal must not land twice)?"""
        versions = await self.versions()
        async with self._redis.pipeline(transaction=False) as pipe:
            for version in versions:
                pipe.sismember(dataset_hashes_key(version), content_hash)
            return any(await pipe.execute())

    async def add(self, version: str, content_hash: str, vote: str, indexed_bytes: int) -> int:
        """Index one appended line; returns the version's sample count."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(dataset_hashes_key(version), content_hash)
            pipe.hincrby(dataset_key(version), "sample_count", 1)
            pipe.hincrby(dataset_key(version), f"votes:{vote}", 1)
            pipe.hset(dataset_key(version), "indexed_bytes", indexed_bytes)
            results = await pipe.execute()
        return int(results[1])

    async def sync(self, version: str) -> dict[str, str]:
        """Bring the index of ``version`` up to its files; returns its record."""
        directory = self._root / version
        size = (directory / SAMPLES_FILE).stat().st_size if (directory / SAMPLES_FILE).exists() else 0
        record = await self.record(version)
        indexed = int(record.get("indexed_bytes", -1))
        if indexed == size and record:
            if "fine_tune_enqueued" not in record and (directory / TRIGGERED_FILE).exists():
                await self.mark_triggered(version)  # a curator died between the trigger's file and this flag
                return await self.record(version)
            return record
        if not record or indexed > size:
            await self._reset(version, created_at(self._root, version))
            indexed = 0
        await self._index_tail(version, directory, max(indexed, 0), size)
        if is_sealed(self._root, version):
            await self.mark_sealed(load_manifest(directory), triggered=(directory / TRIGGERED_FILE).exists())
        return await self.record(version)

    async def _reset(self, version: str, opened_at: float) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(dataset_key(version), dataset_hashes_key(version))
            pipe.hset(dataset_key(version), mapping={
                "version": version, "state": "open", "created_at": opened_at, "sample_count": 0,
                "indexed_bytes": 0, "path": str(self._root / version),
                **{f"votes:{v}": 0 for v in VOTE_NAMES}})
            pipe.zadd(DATASETS_INDEX, {version: opened_at})
            await pipe.execute()

    async def _index_tail(self, version: str, directory: Path, start: int, end: int) -> None:
        """Index lines from byte ``start``; the caller repaired the file, so it ends at ``end``."""
        batch = [record["provenance"] for _end, record in read_records(directory / SAMPLES_FILE, start)]
        async with self._redis.pipeline(transaction=True) as pipe:
            for prov in batch:
                pipe.sadd(dataset_hashes_key(version), prov["content_hash"])
                pipe.hincrby(dataset_key(version), f"votes:{prov.get('vote', 'tie')}", 1)
            pipe.hincrby(dataset_key(version), "sample_count", len(batch))
            pipe.hset(dataset_key(version), "indexed_bytes", end)
            await pipe.execute()

    async def mark_sealed(self, manifest: DatasetManifest, *, triggered: bool = False) -> None:
        fields: dict[str, Any] = {
            "state": "sealed", "persona": manifest.persona, "sample_count": manifest.sample_count,
            "train_count": manifest.train_count, "heldout_count": manifest.heldout_count,
            "sha256": manifest.sha256, "sealed_at": manifest.sealed_at,
            **{f"votes:{k}": v for k, v in manifest.votes.items()}}
        if triggered:
            fields["fine_tune_enqueued"] = 1
        await self._redis.hset(dataset_key(manifest.version), mapping=fields)

    async def mark_triggered(self, version: str) -> None:
        await self._redis.hset(dataset_key(version), mapping={"fine_tune_enqueued": 1,
                                                               "fine_tune_enqueued_at": time.time()})
