"""Settings of the model-setup one-shot (``BATOS_MODEL_SETUP_*``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.settings import BaseServiceSettings


class ModelSetupSettings(BaseServiceSettings):
    service_name: str = "model_setup"
    # ollama: pull/create the Ollama models and pre-fetch the HF bases; local: the local model folder.
    model_setup_mode: Literal["ollama", "local"] = "ollama"
    # Pre-fetch the personas' Hugging Face bases (the fine-tune worker's weights) in ollama mode.
    model_setup_fetch_hf: bool = True
    # Waiting for the Ollama server to answer at all (compose already waits for its healthcheck).
    model_setup_ollama_wait_s: float = Field(default=120.0, ge=0)
    # A progress line per this many percent of a pull.
    model_setup_progress_step_pct: int = Field(default=10, ge=1, le=100)
