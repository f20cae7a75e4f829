"""Fine-tune worker settings: the training backend and the seed's LoRA/SFT hyper-parameters.

Every field is read from the environment with the ``BATOS_`` prefix
(``BATOS_TRAIN_MAX_STEPS=20``, ``BATOS_FINE_TUNE_BACKEND=hf`` ...). The defaults are the seed's
``UnslothForge`` values; ``train_optim`` is ``None`` so the optimiser follows the device
(``adamw_8bit`` on a GPU, ``adamw_torch`` on CPU where bitsandbytes has no kernels).
"""

from __future__ import annotations

from pydantic import Field

from shared.settings import BaseServiceSettings
from workers.fine_tune.train_types import Backend, TrainConfig

SEED_TARGET_MODULES: tuple[str, ...] = (
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
)


class FineTuneSettings(BaseServiceSettings):
    """What the fine-tune worker reads; ``to_train_config()`` gives the training function's input."""

    service_name: str = "fine_tune"

    fine_tune_backend: Backend = "auto"
    fine_tune_output_dir: str = "./var/data/adapters"
    fine_tune_job_timeout_s: int = Field(default=6 * 3600, ge=60)
    # Where `backend=unsloth` runs when this process is not the Unsloth one (see scripts/unsloth_venv.sh).
    fine_tune_unsloth_python: str = ".venv-unsloth/bin/python"
    # The interpreter that runs train_cli for the hf backend; empty: this worker's own.
    fine_tune_python: str = ""
    fine_tune_max_tries: int = Field(default=3, ge=1, description="runs of one job (a killed worker's job re-runs)")
    # Ollama model creation: tags are <prefix>-<persona>:<UTC time>-<dataset version>.
    fine_tune_tag_prefix: str = Field(default="batos", pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    # Bases other than llama/gemma2 need a GGUF adapter (llama.cpp's convert_lora_to_gguf.py).
    fine_tune_gguf_route: bool = False
    fine_tune_gguf_converter: str = Field(default="", description="path of convert_lora_to_gguf.py")
    fine_tune_delete_unused_models: bool = Field(default=True, description="delete a rejected/failed tag")
    # The gate: held-out answers of the new and the current model, judged pairwise by ALFRED.
    fine_tune_eval_max_samples: int = Field(default=20, ge=1)
    fine_tune_eval_min_samples: int = Field(default=5, ge=1, description="fewer held-out samples: no swap")
    fine_tune_eval_concurrency: int = Field(default=4, ge=1)
    fine_tune_gate_threshold: float = Field(
        default=0.0, ge=0.0, le=1.0,
        description="how much worse the new model may be: (current wins - new wins) / samples",
    )

    train_max_seq_length: int = Field(default=2048, ge=16)
    train_load_in_4bit: bool = True  # unsloth backend only
    train_lora_r: int = Field(default=16, ge=1)
    train_lora_alpha: int = Field(default=16, ge=1)
    train_lora_dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    train_target_modules: tuple[str, ...] = SEED_TARGET_MODULES
    train_per_device_batch_size: int = Field(default=2, ge=1)
    train_gradient_accumulation_steps: int = Field(default=4, ge=1)
    train_warmup_steps: int = Field(default=5, ge=0)
    train_max_steps: int = Field(default=60, ge=1)
    train_learning_rate: float = Field(default=2e-4, gt=0)
    train_weight_decay: float = Field(default=0.01, ge=0)
    train_lr_scheduler: str = "linear"
    train_seed: int = 3407
    train_optim: str | None = Field(default=None, description="None: adamw_8bit on GPU, adamw_torch on CPU")
    train_gradient_checkpointing: bool | None = Field(default=None, description="None: on with a GPU only")

    def to_train_config(self) -> TrainConfig:
        return TrainConfig(
            backend=self.fine_tune_backend,
            max_seq_length=self.train_max_seq_length,
            load_in_4bit=self.train_load_in_4bit,
            lora_r=self.train_lora_r,
            lora_alpha=self.train_lora_alpha,
            lora_dropout=self.train_lora_dropout,
            target_modules=self.train_target_modules,
            per_device_batch_size=self.train_per_device_batch_size,
            gradient_accumulation_steps=self.train_gradient_accumulation_steps,
            warmup_steps=self.train_warmup_steps,
            max_steps=self.train_max_steps,
            learning_rate=self.train_learning_rate,
            weight_decay=self.train_weight_decay,
            lr_scheduler=self.train_lr_scheduler,
            seed=self.train_seed,
            optim=self.train_optim,
            gradient_checkpointing=self.train_gradient_checkpointing,
        )
