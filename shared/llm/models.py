"""What the LLM server says about one of its models (``LLMClient.show_model``), and how a model is
named on a metric."""

from __future__ import annotations

import re

from pydantic import BaseModel

# The tag of a fine-tuned model, ``<UTC time>-<dataset version>`` (``workers.fine_tune.ollama_model.model_tag``):
# one per fine-tune, so never a metric label as it is.
FINE_TUNED_TAG = re.compile(r"^\d{8}T\d{6}-v\d+$")


def metric_model_label(model: str) -> str:
    """The model as a metric label: ``llama3.2:3b`` stays, every fine-tune of ``batos-brick`` is
    ``batos-brick:fine-tuned`` (labels stay bounded however many fine-tunes are swapped in)."""
    name, _, tag = model.partition(":")
    return f"{name}:fine-tuned" if FINE_TUNED_TAG.match(tag) else model


class ModelInfo(BaseModel):
    """A model the server has: its name, family (``llama``, ``gemma2``, ``qwen2`` ...) and Modelfile."""

    name: str
    family: str | None = None
    parent_model: str | None = None
    parameter_size: str | None = None
    quantization_level: str | None = None
    modelfile: str = ""
