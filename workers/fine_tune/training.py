"""One training function for both backends: a sealed dataset version in, a LoRA adapter out.

``train_adapter`` loads the base with the chosen backend (``backends.py``: ``unsloth`` 4-bit on a
GPU, ``hf`` transformers + peft otherwise; ``train_types.resolve_backend`` picks it), then
everything is shared: the conversational ``train.jsonl`` of the sealed version, TRL
``SFTTrainer``/``SFTConfig`` with the seed's hyper-parameters, a progress callback,
``save_pretrained``. The adapter is written into a hidden
sibling directory and renamed to ``output_dir`` only when complete, so a killed process never
leaves a half adapter there. torch/transformers/peft/trl/unsloth are imported inside functions
only: this module imports without them. Its input and output types live in ``train_types``.

Errors: ``shared.errors.TrainingError`` and its subclasses (``DatasetError``, ``BaseModelError``,
``BackendUnavailableError``, ``OutputExistsError``); nothing is left at ``output_dir`` when one
is raised.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import structlog

from shared.errors import DatasetError, OutputExistsError, TrainingError
from workers.fine_tune import backends
from workers.fine_tune.train_types import (
    ADAPTER_FILES,
    RESULT_FILE,
    TrainConfig,
    TrainProgress,
    TrainResult,
    resolve_backend,
)

log = structlog.get_logger(__name__)

_PARTIAL = ".partial-"


def train_adapter(
    base_model: str,
    dataset_dir: Path,
    output_dir: Path,
    config: TrainConfig | None = None,
    on_progress: Callable[[TrainProgress], None] | None = None,
) -> TrainResult:
    """Train a LoRA adapter on ``dataset_dir/train.jsonl``; return once it is complete at ``output_dir``."""
    config = config or TrainConfig()
    dataset_dir, output_dir = Path(dataset_dir), Path(output_dir)
    if output_dir.exists():
        raise OutputExistsError(f"{output_dir} already exists; remove it to train again")
    rows = read_conversations(dataset_dir / "train.jsonl")
    backend = resolve_backend(config.backend, has_cuda=_torch_sees_cuda)  # this process imports torch anyway
    bound = log.bind(base_model=base_model, dataset=str(dataset_dir), backend=backend)

    output_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(output_dir)
    work = output_dir.with_name(f".{output_dir.name}{_PARTIAL}{uuid.uuid4().hex[:8]}")
    work.mkdir()
    try:
        started = time.monotonic()
        bound.info("training.start", rows=len(rows), max_steps=config.max_steps)
        steps, final_loss, tokens, train_s = _train(backend, base_model, rows, work, config, on_progress)
        duration = time.monotonic() - started
        result = TrainResult(
            adapter_dir=output_dir,
            backend=backend,
            steps=steps,
            final_loss=final_loss,
            train_tokens=tokens,
            duration_s=round(duration, 3),
            train_s=round(train_s, 3),
            tokens_per_s=round(tokens / train_s, 1) if train_s > 0 else 0.0,
        )
        for name in ADAPTER_FILES:
            if not (work / name).is_file():
                raise TrainingError(f"save_pretrained wrote no {name}")
        (work / RESULT_FILE).write_text(json.dumps(result.to_json(), indent=2))
        _fsync_dir_tree(work)  # on disk before it becomes visible, so a crash can't expose empty files
        work.rename(output_dir)  # the only step that makes the adapter visible
        _fsync_dir_tree(output_dir.parent, files=False)
    except TrainingError:
        raise
    except Exception as exc:
        raise TrainingError(f"{backend} training of {base_model} failed: {exc}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    bound.info("training.done", **result.to_json())
    return result


def _torch_sees_cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def read_conversations(path: Path) -> list[dict[str, Any]]:
    """The ``messages`` of each line (provenance dropped); DatasetError when the file breaks the contract."""
    if not path.is_file():
        raise DatasetError(f"no training file at {path}")
    rows = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                messages = json.loads(line)["messages"]
            except (ValueError, KeyError, TypeError) as exc:
                raise DatasetError(f"{path}:{number}: not a JSON object with 'messages' ({exc})") from exc
            if (
                not isinstance(messages, list)
                or not messages
                or not all(
                    isinstance(m, dict)
                    and isinstance(m.get("role"), str)
                    and isinstance(m.get("content"), str)
                    for m in messages
                )
            ):
                raise DatasetError(f"{path}:{number}: 'messages' must be a list of {{role, content}} strings")
            rows.append({"messages": [{"role": m["role"], "content": m["content"]} for m in messages]})
    if not rows:
        raise DatasetError(f"{path} has no examples")
    return rows


def _fsync_dir_tree(directory: Path, files: bool = True) -> None:
    for path in [*(p for p in directory.iterdir() if p.is_file() and files), directory]:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove_stale_partials(output_dir: Path) -> None:
    """Directories a killed run left beside ``output_dir``; never visible as an adapter."""
    for stale in output_dir.parent.glob(f".{output_dir.name}{_PARTIAL}*"):
        log.warning("training.stale_partial_removed", path=str(stale))
        shutil.rmtree(stale, ignore_errors=True)


def _train(
    backend: Literal["hf", "unsloth"],
    base_model: str,
    rows: list[dict[str, Any]],
    work: Path,
    config: TrainConfig,
    on_progress: Callable[[TrainProgress], None] | None,
) -> tuple[int, float | None, int, float]:
    """Load with the backend, train with TRL, save the adapter into ``work``."""
    # unsloth has to be imported before trl/transformers, so the model is loaded first.
    model, tokenizer = backends.load(backend, base_model, config)
    import torch
    from datasets import load_dataset
    from transformers import PrinterCallback
    from trl import SFTConfig, SFTTrainer  # type: ignore[attr-defined]

    data_file = work / "_data" / "train.jsonl"
    data_file.parent.mkdir()
    data_file.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    dataset = load_dataset("json", data_files=str(data_file), split="train", cache_dir=str(work / "_cache"))

    on_gpu = torch.cuda.is_available()
    bf16 = on_gpu and torch.cuda.is_bf16_supported()
    checkpointing = on_gpu if config.gradient_checkpointing is None else config.gradient_checkpointing
    # transformers 5.2x renamed gradient_checkpointing; the unsloth venv's older one has the old name only.
    renamed = any(f.name == "activation_checkpointing" for f in dataclasses.fields(SFTConfig))
    checkpointing_name = "activation_checkpointing" if renamed else "gradient_checkpointing"
    checkpointing_arg: dict[str, Any] = {checkpointing_name: checkpointing}
    args = SFTConfig(
        output_dir=str(work / "_trainer"),
        **checkpointing_arg,
        max_length=config.max_seq_length,
        packing=False,
        per_device_train_batch_size=config.per_device_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        warmup_steps=config.warmup_steps,
        max_steps=config.max_steps,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        lr_scheduler_type=config.lr_scheduler,
        seed=config.seed,
        optim=config.optim or ("adamw_8bit" if on_gpu else "adamw_torch"),
        bf16=bf16,
        fp16=on_gpu and not bf16,
        dataloader_pin_memory=on_gpu,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
    )
    progress = backends.progress_callback(on_progress, config.max_steps)
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=[progress],
    )
    trainer.remove_callback(PrinterCallback)  # progress goes through on_progress and structlog
    started = time.monotonic()
    trainer.train()
    train_s = time.monotonic() - started
    model.save_pretrained(str(work))
    for scratch in ("_data", "_cache", "_trainer"):
        shutil.rmtree(work / scratch, ignore_errors=True)
    tokens = progress.tokens or int(trainer.state.num_input_tokens_seen or 0)
    return trainer.state.global_step, progress.last_loss, tokens, train_s
