"""The golden dataset's contract: sample lines, a sealed version's manifest, the fine-tune job.

The curator writes, the API and the fine-tune worker read. A sealed version is a directory
``<data_dir>/datasets/<version>/`` holding:

- ``train.jsonl`` and ``heldout.jsonl``: one :class:`Sample` per line, TRL's conversational SFT
  form (``messages`` = system, user, assistant) plus ``provenance``. Every line's system message
  is the *target* persona's system prompt (the persona the version's vote chose), because the
  tuned model will be called with that prompt;
- ``manifest.json``: a :class:`DatasetManifest`; its presence means "sealed";
- ``samples.jsonl``: the append log the version was built from (kept for audit).

A seal enqueues ``enqueue(redis, QUEUE_FINE_TUNE, JOB_FINE_TUNE, persona, version,
idempotency_key=fine_tune_queue_job_id(version))``; the worker turns ``(persona, version)``
into a :class:`TrainingSet` with :func:`shared.datasets.load_training_set`, which checks the
hashes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

DATASET_FORMAT = "trl-conversational-v1"
SAMPLES_FILE = "samples.jsonl"
TRAIN_FILE = "train.jsonl"
HELDOUT_FILE = "heldout.jsonl"
MANIFEST_FILE = "manifest.json"
TRIGGERED_FILE = "fine_tune_enqueued"  # marker: the version's one fine-tune job was enqueued

Vote = Literal["BRICK", "ROBIN", "tie"]
VOTE_NAMES: tuple[Vote, ...] = ("BRICK", "ROBIN", "tie")


class Message(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class Provenance(BaseModel):
    """Where a sample came from and what ALFRED thought of it."""

    interaction_id: str
    task_id: str
    golden_score: float = Field(ge=0.0, le=1.0)
    scores: dict[str, float] = Field(default_factory=dict, description="the rubric's sub-scores")
    persona: str | None = Field(description="the persona the vote credited; None on a tie")
    vote: Vote
    model: str | None = Field(default=None, description="the Ollama tag that produced the answer")
    content_hash: str = Field(description="sha256 of (task, response): the deduplication key")


class Sample(BaseModel):
    """One line of a dataset file."""

    messages: list[Message]
    provenance: Provenance


class DatasetManifest(BaseModel):
    """``manifest.json`` of a sealed version."""

    version: str
    format: str = DATASET_FORMAT
    persona: str = Field(description="the persona this version fine-tunes (the vote's winner)")
    sample_count: int
    train_count: int
    heldout_count: int
    heldout_fraction: float
    sha256: str = Field(description="sha256 of train.jsonl's bytes followed by heldout.jsonl's")
    train_sha256: str
    heldout_sha256: str
    votes: dict[str, int] = Field(description="BRICK / ROBIN / tie tallies over the version's samples")
    created_at: float
    sealed_at: float


class TrainingSet(BaseModel):
    """What the fine-tune worker needs to train one sealed version (the job's contract)."""

    persona: str
    dataset_version: str
    path: str = Field(description="the version's directory")
    train_path: str
    heldout_path: str
    sample_count: int
    train_count: int
    heldout_count: int
    sha256: str


