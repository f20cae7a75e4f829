"""Fixtures and helpers for the fine-tune worker tests: settings on the tiny Llama and the fake
Ollama, a sealed dataset in the curator's real format, a trained adapter, a scripted judge and a
burst worker. Imported into this folder's conftest."""

from __future__ import annotations

import hashlib
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shared.datasets.contract import Provenance, Sample
from shared.datasets.layout import datasets_root
from shared.datasets.seal import seal_version
from shared.events import Envelope
from shared.keys import event_journal
from shared.personas import SYSTEM_PROMPTS
from shared.queues import WakeableWorker
from tests.support.fake_ollama import Answer, FakeOllama
from tests.support.redis_server import RedisServer
from tests.support.workers import run_burst
from tests.workers.fine_tune.tiny_model import conversations
from workers.fine_tune.settings import FineTuneSettings
from workers.fine_tune.train_types import TrainConfig
from workers.fine_tune.training import train_adapter
from workers.fine_tune.worker import WORKER

VERSION = "v000001"
JUDGE = "judge:1b"
BASE = "llama3.2:3b"
_PAIR = re.compile(r"Answer A:\n(.*)\n\nAnswer B:\n(.*)\n\nReply with JSON", re.S)


def fine_tune_env(redis_url: str, ollama_host: str, tiny_model: Path, root: Path) -> dict[str, str]:
    """The worker's environment (``BATOS_*``): hf backend, seconds-long training."""
    return {
        "BATOS_ENVIRONMENT": "test", "BATOS_REDIS_URL": redis_url, "BATOS_OLLAMA_HOST": ollama_host,
        "BATOS_LLM_TIMEOUT_S": "10", "BATOS_BRICK_HF_BASE": str(tiny_model), "BATOS_ALFRED_OLLAMA_MODEL": JUDGE,
        "BATOS_DATA_DIR": str(root / "data"), "BATOS_FINE_TUNE_OUTPUT_DIR": str(root / "adapters"),
        "BATOS_FINE_TUNE_BACKEND": "hf", "BATOS_TRAIN_MAX_STEPS": "4", "BATOS_TRAIN_MAX_SEQ_LENGTH": "64",
        "BATOS_TRAIN_GRADIENT_ACCUMULATION_STEPS": "1", "BATOS_TRAIN_WARMUP_STEPS": "1",
        "BATOS_TRAIN_LEARNING_RATE": "0.01", "BATOS_QUEUE_POLL_DELAY_S": "0.2",
    }  # fmt: skip


@pytest.fixture
def ft_env(live_redis: RedisServer, fake_ollama: FakeOllama, tiny_model: Path, tmp_path: Path) -> dict[str, str]:
    return fine_tune_env(live_redis.url, fake_ollama.host, tiny_model, tmp_path)


@pytest.fixture
def ft_settings(ft_env: dict[str, str]) -> FineTuneSettings:
    """The same values the worker process reads from ``ft_env``."""
    return settings_from_env(ft_env)


def settings_from_env(env: dict[str, str], **overrides: Any) -> FineTuneSettings:
    fields: dict[str, Any] = {name.removeprefix("BATOS_").lower(): value for name, value in env.items()}
    return FineTuneSettings(**{**fields, **overrides})


def seal_dataset(data_dir: str | Path, version: str = VERSION, persona: str = "BRICK", samples: int = 20,
                 heldout_fraction: float = 0.25) -> Path:
    """A sealed version written by the curator's own sealing code (manifest, hashes, held-out slice)."""
    directory = datasets_root(data_dir) / version
    directory.mkdir(parents=True)
    lines = []
    for i, row in enumerate(conversations(samples)):
        provenance = Provenance(
            interaction_id=f"i-{i}", task_id=f"t-{i}", golden_score=0.9, persona=persona, vote=persona,
            content_hash=hashlib.sha256(f"{version}:{i}".encode()).hexdigest())
        lines.append(Sample.model_validate({"messages": row["messages"], "provenance": provenance}).model_dump_json())
    (directory / "samples.jsonl").write_text("".join(line + "\n" for line in lines))
    seal_version(directory, SYSTEM_PROMPTS, heldout_fraction=heldout_fraction, created_at=time.time())
    return directory


@pytest.fixture
def sealed(ft_settings: FineTuneSettings) -> Path:
    return seal_dataset(ft_settings.data_dir)


@pytest.fixture(scope="session")
def trained_adapter(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real adapter, trained once, for tests about what happens after training."""
    data = tmp_path_factory.mktemp("adapter-data")
    directory = seal_dataset(data)
    out = tmp_path_factory.mktemp("adapter") / "brick"
    config = TrainConfig(backend="hf", max_steps=2, max_seq_length=64, gradient_accumulation_steps=1)
    return train_adapter(str(tiny_model), directory, out, config).adapter_dir


def place_adapter(settings: FineTuneSettings, fine_tune_id: str, adapter: Path, persona: str = "BRICK") -> Path:
    """Put a finished adapter where the job would have written it (as after a run killed post-training)."""
    target = Path(settings.fine_tune_output_dir) / persona / fine_tune_id
    shutil.copytree(adapter, target)
    return target


def judge_prefers(winner: str, *, flip_with_order: bool = False) -> Callable[[dict[str, Any]], Answer]:
    """An ``on_chat`` script: tuned tags answer "NEW ...", others "OLD ..."; the judge picks ``winner``."""

    def script(body: dict[str, Any]) -> Answer:
        if body["model"] != JUDGE:
            return ("NEW" if body["model"].startswith("batos-") else "OLD") + " answer to " + body["messages"][-1][
                "content"][:40]
        match = _PAIR.search(body["messages"][-1]["content"])
        assert match is not None, body
        a, b = match.groups()
        if flip_with_order:  # always prefers whatever is shown first: inconsistent
            return '{"better": "A", "reason": "first"}'
        pick = "A" if a.startswith(winner) else "B" if b.startswith(winner) else "tie"
        return f'{{"better": "{pick}", "reason": "{winner} is better"}}'

    return script


async def run_worker_burst(settings: FineTuneSettings) -> WakeableWorker:
    """Run a fine-tune worker until its queue is empty, then close it."""
    return await run_burst(WORKER.worker_kwargs(settings))


async def journal(redis: Any, event_type: str) -> list[Envelope]:
    entries = await redis.xrange(event_journal(event_type))
    return [Envelope.from_json(fields[b"envelope"]) for _id, fields in entries]
