"""Sealing a version: tally the votes, pick the persona, split off the held-out slice, write it.

The winner is the persona with more credited samples; equal tallies go to the higher summed
golden score, then to BRICK (a fixed rule, so every replica computes the same persona). The
held-out slice is chosen by a hash of (version, content hash): deterministic, spread over the
version, never the newest samples only. Files are written to temporary names, fsynced and
renamed; ``manifest.json`` is written last, so a crash mid-seal leaves an open version that
the next append seals again, identically.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from pathlib import Path
from typing import Any

from shared.datasets.contract import (
    HELDOUT_FILE,
    MANIFEST_FILE,
    SAMPLES_FILE,
    TRAIN_FILE,
    VOTE_NAMES,
    DatasetManifest,
)
from shared.datasets.jsonl import read_records
from shared.datasets.layout import fsync_dir


def tally(records: list[dict[str, Any]]) -> dict[str, int]:
    votes: dict[str, int] = dict.fromkeys(VOTE_NAMES, 0)
    for record in records:
        vote = record["provenance"].get("vote", "tie")
        votes[vote if vote in votes else "tie"] += 1
    return votes


def winner(records: list[dict[str, Any]]) -> str:
    """The persona the version fine-tunes (see the module docstring for the rule)."""
    votes = tally(records)
    score = {p: sum(r["provenance"]["golden_score"] for r in records if r["provenance"].get("vote") == p)
             for p in ("BRICK", "ROBIN")}
    return max(("BRICK", "ROBIN"), key=lambda p: (votes[p], score[p], p == "BRICK"))


def heldout_count(n: int, fraction: float) -> int:
    """How many of ``n`` samples are held out: at least one when asked for any, never all."""
    if fraction <= 0 or n < 2:
        return 0
    return min(n - 1, max(1, math.floor(n * fraction + 0.5)))


def _split(version: str, records: list[dict[str, Any]], fraction: float) -> tuple[list[int], set[int]]:
    k = heldout_count(len(records), fraction)
    rank = sorted(range(len(records)), key=lambda i: hashlib.sha256(
        f"{version}:{records[i]['provenance']['content_hash']}".encode()).hexdigest())
    held = set(rank[:k])
    return [i for i in range(len(records)) if i not in held], held


def _render(record: dict[str, Any], system_prompt: str) -> bytes:
    messages = [m for m in record["messages"] if m["role"] != "system"]
    line = {"messages": [{"role": "system", "content": system_prompt}, *messages],
            "provenance": record["provenance"]}
    return (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def seal_version(directory: Path, system_prompts: dict[str, str], heldout_fraction: float,
                 created_at: float) -> DatasetManifest:
    """Write ``train.jsonl``, ``heldout.jsonl`` and then ``manifest.json`` for ``directory``."""
    version = directory.name
    records = [record for _end, record in read_records(directory / SAMPLES_FILE)]
    if not records:
        raise ValueError(f"dataset {version} has no samples to seal")
    persona = winner(records)
    train_ids, held = _split(version, records, heldout_fraction)
    train = b"".join(_render(records[i], system_prompts[persona]) for i in train_ids)
    heldout = b"".join(_render(records[i], system_prompts[persona]) for i in sorted(held))
    _write_atomically(directory / TRAIN_FILE, train)
    _write_atomically(directory / HELDOUT_FILE, heldout)
    manifest = DatasetManifest(
        version=version, persona=persona, sample_count=len(records), train_count=len(train_ids),
        heldout_count=len(held), heldout_fraction=heldout_fraction,
        sha256=hashlib.sha256(train + heldout).hexdigest(),
        train_sha256=hashlib.sha256(train).hexdigest(), heldout_sha256=hashlib.sha256(heldout).hexdigest(),
        votes=tally(records), created_at=created_at, sealed_at=time.time(),
    )
    _write_atomically(directory / MANIFEST_FILE, manifest.model_dump_json(indent=2).encode())
    fsync_dir(directory)
    return manifest


def load_manifest(directory: Path) -> DatasetManifest:
    return DatasetManifest.model_validate_json((directory / MANIFEST_FILE).read_bytes())


def verify(directory: Path) -> DatasetManifest:
    """The manifest, after checking that the files still hash to it; ``ValueError`` if not."""
    manifest = load_manifest(directory)
    train = (directory / TRAIN_FILE).read_bytes()
    heldout = (directory / HELDOUT_FILE).read_bytes()
    if hashlib.sha256(train + heldout).hexdigest() != manifest.sha256:
        raise ValueError(f"dataset {manifest.version}: files do not match the manifest's sha256")
    return manifest
