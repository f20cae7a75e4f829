"""Reading the dataset: version summaries, a page of samples, a sealed version's fine-tune job.

For the API and the fine-tune worker; nothing here writes. Summaries come from the Redis index
(fast) and fall back to the files for a version the index does not know (after a flush, before
a curator re-indexed it).
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from shared.datasets.contract import (
    HELDOUT_FILE,
    SAMPLES_FILE,
    TRAIN_FILE,
    TRIGGERED_FILE,
    VOTE_NAMES,
    TrainingSet,
)
from shared.datasets.index import DatasetIndex
from shared.datasets.jsonl import read_records
from shared.datasets.layout import created_at, datasets_root, is_sealed, is_version, versions_on_disk
from shared.datasets.seal import load_manifest, tally, verify
from shared.errors import Conflict, InvalidInput, NotFound


class VersionSummary(BaseModel):
    """One golden dataset version: open (still collecting samples) or sealed (split and frozen)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "version": "v000003", "state": "sealed", "sample_count": 10, "votes": {"BRICK": 6, "ROBIN": 3, "tie": 1},
        "created_at": 1767225600.0, "sealed_at": 1767268799.0, "persona": "BRICK", "train_count": 5,
        "heldout_count": 5, "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "fine_tune_enqueued": True, "path": "var/datasets/v000003"}]})

    version: str = Field(description="``v`` and six digits, oldest first")
    state: str = Field(description="open (collecting samples) or sealed")  # open | sealed
    sample_count: int = Field(description="samples in the version")
    votes: dict[str, int] = Field(description="BRICK / ROBIN / tie tallies over the version's samples")
    created_at: float = Field(description="Unix time (s) the version was opened")
    sealed_at: float | None = Field(default=None, description="Unix time (s) it was sealed")
    persona: str | None = Field(default=None, description="the persona a sealed version fine-tunes")
    train_count: int | None = Field(default=None, description="samples in the training split (sealed)")
    heldout_count: int | None = Field(default=None, description="samples held out for the gate (sealed)")
    sha256: str | None = Field(default=None, description="sha256 of the sealed files, checked before training")
    fine_tune_enqueued: bool = Field(default=False, description="the curator has queued its fine-tune")
    path: str = Field(description="the version's directory")


def _from_index(version: str, raw: dict[str, str], root: Path) -> VersionSummary:
    number = {k: int(raw[k]) for k in ("train_count", "heldout_count") if k in raw}
    return VersionSummary(
        version=version, state=raw.get("state", "open"), sample_count=int(raw.get("sample_count", 0)),
        votes={v: int(raw.get(f"votes:{v}", 0)) for v in VOTE_NAMES},
        created_at=float(raw.get("created_at", 0)),
        sealed_at=float(raw["sealed_at"]) if "sealed_at" in raw else None,
        persona=raw.get("persona"), sha256=raw.get("sha256"), path=str(root / version),
        fine_tune_enqueued=raw.get("fine_tune_enqueued") == "1", **number)


def _from_files(version: str, root: Path) -> VersionSummary:
    directory = root / version
    if is_sealed(root, version):
        m = load_manifest(directory)
        return VersionSummary(version=version, state="sealed", sample_count=m.sample_count, votes=m.votes,
                              created_at=m.created_at, sealed_at=m.sealed_at, persona=m.persona,
                              train_count=m.train_count, heldout_count=m.heldout_count, sha256=m.sha256,
                              fine_tune_enqueued=(directory / TRIGGERED_FILE).exists(), path=str(directory))
    records = [r for _end, r in read_records(directory / SAMPLES_FILE)]
    return VersionSummary(version=version, state="open", sample_count=len(records), votes=tally(records),
                          created_at=created_at(root, version), path=str(directory))


async def list_versions(redis: Redis, data_dir: str | Path) -> list[VersionSummary]:
    """Every version on disk, newest first."""
    root = datasets_root(data_dir)
    index = DatasetIndex(redis, root)
    out = []
    for version in reversed(versions_on_disk(root)):
        raw = await index.record(version)
        out.append(_from_index(version, raw, root) if raw else _from_files(version, root))
    return out


async def get_version(redis: Redis, data_dir: str | Path, version: str) -> VersionSummary:
    root = datasets_root(data_dir)
    if not is_version(version) or not (root / version).is_dir():
        raise NotFound(f"dataset version {version!r} not found")
    raw = await DatasetIndex(redis, root).record(version)
    return _from_index(version, raw, root) if raw else _from_files(version, root)


def sample_page(data_dir: str | Path, version: str, offset: int = 0, limit: int = 20,
                split: str = "all") -> list[dict[str, Any]]:
    """Samples ``offset``..``offset+limit`` of a version; ``split`` is all, train or heldout."""
    root = datasets_root(data_dir)
    if not is_version(version) or not (root / version).is_dir():
        raise NotFound(f"dataset version {version!r} not found")
    files = {"all": SAMPLES_FILE, "train": TRAIN_FILE, "heldout": HELDOUT_FILE}
    if split not in files:
        raise InvalidInput(f"split must be one of {', '.join(files)}")
    records = (r for _end, r in read_records(root / version / files[split]))
    return list(islice(records, offset, offset + limit))


def load_training_set(data_dir: str | Path, version: str, persona: str | None = None) -> TrainingSet:
    """The job for a sealed version, its files checked against the manifest's sha256.

    ``NotFound`` if the version is not sealed; ``Conflict`` if the files were altered since the
    seal or ``persona`` is not the one the version was sealed for.
    """
    root = datasets_root(data_dir)
    directory = root / version
    if not is_version(version) or not is_sealed(root, version):
        raise NotFound(f"no sealed dataset version {version!r} under {root}")
    try:
        manifest = verify(directory)
    except ValueError as exc:
        raise Conflict(str(exc)) from exc
    if persona is not None and persona.upper() != manifest.persona:
        raise Conflict(f"dataset {version} was sealed for {manifest.persona}, not {persona}")
    return TrainingSet(persona=manifest.persona, dataset_version=version, path=str(directory),
                       train_path=str(directory / TRAIN_FILE), heldout_path=str(directory / HELDOUT_FILE),
                       sample_count=manifest.sample_count, train_count=manifest.train_count,
                       heldout_count=manifest.heldout_count, sha256=manifest.sha256)
