"""What training takes and gives, and the choice of a backend: light, torch-free, shared.

The worker (``pipeline``, ``train_process``, ``settings``, ``ollama_model``) and the training
process (``training``, ``backends``) both import this module; it imports neither of them, so
``training`` -> ``backends`` is the only edge between the two training modules. Choosing the
backend asks a child interpreter whether CUDA is there: the long-running worker never imports
torch (it costs ~1 GB and seconds); only the training child does.
"""

from __future__ import annotations

import functools
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from shared.errors import BackendUnavailableError

Backend = Literal["auto", "hf", "unsloth"]
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
RESULT_FILE = "training_result.json"
CUDA_PROBE = "import torch; print(int(torch.cuda.is_available()))"
CUDA_PROBE_TIMEOUT_S = 300.0  # importing torch on a busy machine


@dataclass(frozen=True)
class TrainConfig:
    """The seed's UnslothForge hyper-parameters; ``None`` means "follow the device"."""

    backend: Backend = "auto"
    max_seq_length: int = 2048
    load_in_4bit: bool = True  # unsloth only
    lora_r: int = 16
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    target_modules: tuple[str, ...] = (
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj",
    )  # fmt: skip
    per_device_batch_size: int = 2
    gradient_accumulation_steps: int = 4
    warmup_steps: int = 5
    max_steps: int = 60
    learning_rate: float = 2e-4
    weight_decay: float = 0.01
    lr_scheduler: str = "linear"
    seed: int = 3407
    optim: str | None = None  # adamw_8bit on GPU, adamw_torch on CPU
    gradient_checkpointing: bool | None = None  # on with a GPU only


@dataclass(frozen=True)
class TrainProgress:
    step: int
    max_steps: int
    loss: float | None
    learning_rate: float | None
    eta_s: float | None
    tokens_per_s: float | None = None  # tokens trained on so far / seconds of the loop so far


@dataclass(frozen=True)
class TrainResult:
    adapter_dir: Path
    backend: Literal["hf", "unsloth"]
    steps: int
    final_loss: float | None
    train_tokens: int
    duration_s: float  # the whole call: loading, tokenising, training, saving
    train_s: float  # the optimisation loop alone (trainer.train())
    tokens_per_s: float  # train_tokens / train_s

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "adapter_dir": str(self.adapter_dir)}


def resolve_backend(requested: Backend, *, has_cuda: Callable[[], bool] | None = None) -> Literal["hf", "unsloth"]:
    """``auto`` is unsloth only with a CUDA device: unsloth also imports (and trains) on CPU.

    ``has_cuda`` tells whether there is one; by default a child interpreter is asked
    (``cuda_available``), so that this module never imports torch. The training process, which
    imports torch anyway, passes its own check.
    """
    if requested != "auto":
        return requested
    found = has_cuda() if has_cuda is not None else cuda_available(sys.executable)
    return "unsloth" if found else "hf"


@functools.lru_cache(maxsize=4)
def cuda_available(python: str) -> bool:
    """Whether torch sees a CUDA device under ``python``, asked in a child (no torch here).

    ``BackendUnavailableError`` when torch cannot be imported there (the train extra is missing).
    The answer is kept per interpreter: devices do not come and go under a running worker.
    """
    try:
        probe = subprocess.run([python, "-c", CUDA_PROBE], capture_output=True, text=True,
                               timeout=CUDA_PROBE_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackendUnavailableError(f"cannot ask {python} whether CUDA is available: {exc}") from exc
    answer = probe.stdout.strip().splitlines()[-1:] if probe.returncode == 0 else []
    if answer not in (["0"], ["1"]):
        detail = (probe.stderr.strip().splitlines() or [f"exit status {probe.returncode}"])[-1]
        raise BackendUnavailableError(f"cannot tell whether CUDA is available: torch under {python}: {detail}")
    return answer == ["1"]
