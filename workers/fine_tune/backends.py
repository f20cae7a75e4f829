"""Model loading per backend, and the progress callback the shared trainer uses.

Both loaders return ``(peft_model, tokenizer)`` ready for TRL; nothing after loading differs.
Every heavy import is inside a function: ``unsloth`` must come before trl/transformers in its
process, and services that import the fine-tune package must not pay for torch.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import structlog

from shared.errors import BackendUnavailableError, BaseModelError
from workers.fine_tune.train_types import TrainConfig, TrainProgress

log = structlog.get_logger(__name__)

# A plain ChatML template for bases that ship none (TRL's conversational format needs one).
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def load(backend: str, base_model: str, config: TrainConfig) -> tuple[Any, Any]:
    loader = load_unsloth if backend == "unsloth" else load_hf
    model, tokenizer = loader(base_model, config)
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = CHATML_TEMPLATE
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def load_hf(base_model: str, config: TrainConfig) -> tuple[Any, Any]:
    """transformers + peft LoRA, full precision on CPU (no bf16 there), bf16 on a capable GPU."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    on_gpu = torch.cuda.is_available()
    dtype = torch.bfloat16 if on_gpu and torch.cuda.is_bf16_supported() else torch.float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(base_model)
        model = AutoModelForCausalLM.from_pretrained(base_model, dtype=dtype)
    except (OSError, ValueError) as exc:
        raise BaseModelError(f"cannot load base model {base_model!r}: {exc}") from exc
    if on_gpu:
        model = model.to("cuda")  # type: ignore[arg-type]
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.target_modules),
        bias="none",
        task_type="CAUSAL_LM",
    )
    with warnings.catch_warnings():  # peft reads a property transformers 5.2x deprecates
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        return get_peft_model(model, lora), tokenizer


def load_unsloth(base_model: str, config: TrainConfig) -> tuple[Any, Any]:
    """The seed's path: FastLanguageModel 4-bit + its own get_peft_model."""
    late = [name for name in ("trl", "transformers", "peft") if name in sys.modules]
    if late:
        log.warning("unsloth.imported_late", already_imported=late)
    try:
        from unsloth import FastLanguageModel
    except ImportError as exc:
        raise BackendUnavailableError(
            f"unsloth is not importable in {sys.executable}; build .venv-unsloth with "
            f"scripts/unsloth_venv.sh ({exc})"
        ) from exc
    import torch

    on_gpu = torch.cuda.is_available()
    try:
        model, tokenizer = FastLanguageModel.from_pretrained(
            model_name=base_model,
            max_seq_length=config.max_seq_length,
            dtype=None,
            load_in_4bit=config.load_in_4bit,
        )
    except (OSError, ValueError, RuntimeError) as exc:
        raise BaseModelError(f"cannot load base model {base_model!r} with unsloth: {exc}") from exc
    checkpointing: bool | str = (
        config.gradient_checkpointing if config.gradient_checkpointing is not None else on_gpu
    )
    model = FastLanguageModel.get_peft_model(
        model,
        r=config.lora_r,
        target_modules=list(config.target_modules),
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        bias="none",
        use_gradient_checkpointing="unsloth" if checkpointing is True else checkpointing,
        random_state=config.seed,
        use_rslora=False,
        loftq_config=None,
    )
    return model, tokenizer


def progress_callback(on_progress: Callable[[TrainProgress], None] | None, max_steps: int) -> Any:
    """A TrainerCallback reporting each logged step; it keeps the last loss and the token count."""
    from transformers import TrainerCallback

    class ProgressCallback(TrainerCallback):
        def __init__(self) -> None:
            self.last_loss: float | None = None
            self.tokens = 0
            self._started = time.monotonic()

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self._started = time.monotonic()

        def on_log(
            self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **_: Any
        ) -> None:
            logs = logs or {}
            if "loss" not in logs:  # the final summary line (train_loss, train_runtime ...)
                return
            self.last_loss = float(logs["loss"])
            self.tokens = int(logs.get("num_tokens", self.tokens))
            step, total = state.global_step, state.max_steps or max_steps
            elapsed = time.monotonic() - self._started
            eta = elapsed / step * (total - step) if step else None
            lr = logs.get("learning_rate")
            rate = round(self.tokens / elapsed, 1) if self.tokens and elapsed > 0 else None
            progress = TrainProgress(step, total, self.last_loss, None if lr is None else float(lr), eta, rate)
            log.debug("training.progress", **progress.__dict__)
            if on_progress is None:
                return
            try:
                on_progress(progress)
            except Exception:  # a lost progress report must never cost a training run
                log.exception("training.progress_callback_failed", step=step)

    return ProgressCallback()
