"""A new Ollama model from the persona's Ollama base plus a trained LoRA adapter.

``create_tuned_model`` has ``LLMClient.create_model`` upload the adapter files as blobs
(sha256-addressed) and create ``tag`` from ``base`` plus them, then ``show_model``s the tag:
success is claimed only for a model Ollama lists (Ollama is reached only through ``LLMClient``).
Ollama accepts safetensors adapters on llama and gemma2 bases only; for any other architecture
the adapter must first become one GGUF file (llama.cpp's ``convert_lora_to_gguf.py``, the
``fine_tune_gguf_route`` setting), otherwise ``UnsupportedArchitecture`` says exactly that.
Tags sort by time and say what they are: ``batos-brick:20260514T120301-v000001``.

Errors::

    ModelCreationError          upload, create or show failed; the reason is in the message
    └── UnsupportedArchitecture the base is not llama/gemma2 and the GGUF route is off
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from shared.errors import LLMError, ModelCreationError, UnsupportedArchitecture
from shared.llm import LLMClient
from workers.fine_tune.train_types import ADAPTER_FILES

SAFETENSORS_ARCHITECTURES = frozenset({"llama", "gemma2"})
GGUF_ADAPTER = "adapter.gguf"
T = TypeVar("T")


@dataclass(frozen=True)
class GgufRoute:
    """How to turn a safetensors adapter into a GGUF one (None: the route is off)."""

    converter: str  # path of llama.cpp's convert_lora_to_gguf.py
    python: str = sys.executable


def model_tag(prefix: str, persona: str, dataset_version: str, now: float | None = None) -> str:
    """``<prefix>-<persona>:<UTC time>-<version>``: per persona, newest sorts last (metrics label every
    such tag ``<prefix>-<persona>:fine-tuned``: ``shared.llm.models.FINE_TUNED_TAG``)."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now if now is not None else time.time()))
    return f"{prefix}-{persona.lower()}:{stamp}-{dataset_version}"


def adapter_architecture(adapter_dir: Path, hf_base: str) -> str | None:
    """The base's ``model_type`` from its config.json when the base is a local directory."""
    config = json.loads((adapter_dir / "adapter_config.json").read_text())
    for base in (config.get("base_model_name_or_path"), hf_base):
        path = Path(base) / "config.json" if base else None
        if path is not None and path.is_file():
            return str(json.loads(path.read_text()).get("model_type") or "") or None
    return None


async def ollama_family(llm: LLMClient, base: str) -> str | None:
    """The family Ollama reports for the base tag (``llama``, ``gemma2``, ``qwen2`` ...)."""
    return (await _call(llm.show_model(base))).family


async def create_tuned_model(
    llm: LLMClient,
    tag: str,
    base: str,
    adapter_dir: Path,
    hf_base: str,
    gguf: GgufRoute | None = None,
) -> dict[str, str]:
    """Create ``tag`` from ``base`` + the adapter and verify it; returns the adapters sent."""
    architecture = adapter_architecture(adapter_dir, hf_base) or await ollama_family(llm, base)
    if architecture in SAFETENSORS_ARCHITECTURES:
        files = [adapter_dir / name for name in ADAPTER_FILES]
    elif gguf is None:
        raise UnsupportedArchitecture(
            f"Ollama accepts safetensors LoRA adapters only on llama and gemma2 bases; {base} is "
            f"{architecture or 'of unknown architecture'} (turn on fine_tune_gguf_route to convert "
            "the adapter to GGUF)"
        )
    else:
        files = [await convert_to_gguf(gguf, adapter_dir, hf_base)]
    adapters = await _call(llm.create_model(tag, base, files))
    shown = await _call(llm.show_model(tag))
    if not shown.modelfile:
        raise ModelCreationError(f"Ollama shows {tag} without a modelfile; not trusting it")
    return adapters


async def delete_model(llm: LLMClient, tag: str) -> bool:
    """Best-effort removal of a tag nobody will use; False if it could not be deleted."""
    try:
        await llm.delete_model(tag)
    except LLMError:
        return False
    return True


async def convert_to_gguf(route: GgufRoute, adapter_dir: Path, hf_base: str) -> Path:
    """Run llama.cpp's converter; the GGUF adapter is written beside the safetensors one."""
    out = adapter_dir / GGUF_ADAPTER
    if _gguf_ready(route, out):
        return out  # a re-run after a kill: converted already
    partial = adapter_dir / f".{GGUF_ADAPTER}.partial"
    proc = await asyncio.create_subprocess_exec(
        route.python, route.converter, "--base", hf_base, "--outfile", str(partial), str(adapter_dir),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await proc.communicate()
    if proc.returncode != 0 or not partial.is_file():
        raise ModelCreationError(f"GGUF conversion failed ({proc.returncode}): {stderr.decode()[-500:]}")
    partial.rename(out)
    return out


def _gguf_ready(route: GgufRoute, out: Path) -> bool:
    if not route.converter or not Path(route.converter).is_file():
        raise ModelCreationError(f"the GGUF route is on but the converter {route.converter!r} does not exist")
    return out.is_file()


async def _call(call: Awaitable[T]) -> T:
    """An LLM request whose failure means no model (the reason, as ``LLMClient`` words it, is kept)."""
    try:
        return await call
    except LLMError as exc:
        raise ModelCreationError(str(exc)) from exc
