"""Settings of the cognition worker (``BATOS_*``; see ``shared.settings`` for the shared ones)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from shared.settings import BaseServiceSettings
from shared.stores.codex import DEFAULT_CODEX_PATH


class CognitionSettings(BaseServiceSettings):
    service_name: str = "cognition"
    # ALFRED's verdict at or above this publishes ``high_cognitive_dissonance``.
    dissonance_threshold: float = Field(default=0.7, ge=0.0, le=1.0)
    # Tasks one worker process answers at once (each holds an LLM call open).
    cognition_max_jobs: int = Field(default=4, ge=1)
    # Wall-clock limit of one task (BRICK + ROBIN + ALFRED, maybe a codex draft).
    cognition_task_timeout_s: int = Field(default=900, ge=1)
    # Tries of a task while Ollama is unreachable, and the back-off between them (times the try).
    cognition_llm_tries: int = Field(default=3, ge=1)
    cognition_retry_delay_s: float = Field(default=5.0, ge=0.0)
    codex_path: Path = DEFAULT_CODEX_PATH
    interactions_maxlen: int = Field(default=100_000, ge=1_000)
