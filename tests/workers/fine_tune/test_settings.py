from __future__ import annotations

import pytest

from workers.fine_tune.settings import SEED_TARGET_MODULES, FineTuneSettings
from workers.fine_tune.train_types import TrainConfig


def test_defaults_are_the_seeds_hyper_parameters() -> None:
    config = FineTuneSettings().to_train_config()
    assert config == TrainConfig()
    assert (config.backend, config.max_seq_length, config.lora_r, config.lora_alpha, config.lora_dropout) == (
        "auto",
        2048,
        16,
        16,
        0.0,
    )
    assert config.target_modules == SEED_TARGET_MODULES and len(SEED_TARGET_MODULES) == 7
    assert (config.per_device_batch_size, config.gradient_accumulation_steps, config.warmup_steps) == (
        2,
        4,
        5,
    )
    assert (config.max_steps, config.learning_rate, config.weight_decay) == (60, 2e-4, 0.01)
    assert (config.lr_scheduler, config.seed, config.load_in_4bit) == ("linear", 3407, True)
    assert config.optim is None  # adamw_8bit on a GPU, adamw_torch on CPU


def test_every_field_is_settable_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATOS_FINE_TUNE_BACKEND", "hf")
    monkeypatch.setenv("BATOS_TRAIN_MAX_STEPS", "20")
    monkeypatch.setenv("BATOS_TRAIN_LEARNING_RATE", "0.001")
    monkeypatch.setenv("BATOS_TRAIN_TARGET_MODULES", '["q_proj", "v_proj"]')
    monkeypatch.setenv("BATOS_TRAIN_OPTIM", "adamw_torch")
    monkeypatch.setenv("BATOS_FINE_TUNE_OUTPUT_DIR", "/srv/adapters")
    settings = FineTuneSettings()
    config = settings.to_train_config()
    assert (config.backend, config.max_steps, config.learning_rate) == ("hf", 20, 0.001)
    assert config.target_modules == ("q_proj", "v_proj") and config.optim == "adamw_torch"
    assert settings.fine_tune_output_dir == "/srv/adapters"


def test_an_unknown_backend_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATOS_FINE_TUNE_BACKEND", "cuda")
    with pytest.raises(ValueError, match="fine_tune_backend"):
        FineTuneSettings()
