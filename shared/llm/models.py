"""What the LLM server says about one of its models (``LLMClient.show_model``)."""

from __future__ import annotations

from pydantic import BaseModel


class ModelInfo(BaseModel):
    """A model the server has: its name, family (``llama``, ``gemma2``, ``qwen2`` ...) and Modelfile."""

    name: str
    family: str | None = None
    parent_model: str | None = None
    parameter_size: str | None = None
    quantization_level: str | None = None
    modelfile: str = ""
