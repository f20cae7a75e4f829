"""What ``/api/show``, ``/api/tags`` and ``/api/ps`` say about a model folder, read without torch.

Shapes come from the safetensors headers (8-byte length + JSON), so describing a model, or
checking an adapter against it, costs milliseconds and works while the model is still loading.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

DTYPE_LABELS = {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}


def tensor_shapes(file: Path) -> dict[str, list[int]]:
    """``name -> shape`` of every tensor in a safetensors file."""
    with file.open("rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        if length > 100_000_000:
            raise ValueError(f"{file.name} is not a safetensors file")
        header = json.loads(f.read(length))
    return {name: list(meta["shape"]) for name, meta in header.items() if name != "__metadata__"}


_shapes: dict[Path, dict[str, list[int]]] = {}


def folder_shapes(folder: Path) -> dict[str, list[int]]:
    """Every tensor shape of a model folder; remembered once found (a folder being prepared has none yet)."""
    if folder not in _shapes:
        shapes: dict[str, list[int]] = {}
        for file in sorted(folder.glob("*.safetensors")):
            shapes.update(tensor_shapes(file))
        if not shapes:
            return shapes
        _shapes[folder] = shapes
    return _shapes[folder]


def read_config(folder: Path) -> dict[str, Any]:
    path = folder / "config.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def parameter_count(folder: Path) -> int:
    try:
        return sum(math.prod(shape) for shape in folder_shapes(folder).values())
    except (OSError, ValueError):
        return 0


def size_label(count: int) -> str:
    """Ollama's ``parameter_size`` style: ``135M``, ``1.7B``."""
    if count >= 1_000_000_000:
        return f"{count / 1e9:.1f}B"
    if count >= 1_000_000:
        return f"{round(count / 1e6)}M"
    return f"{count / 1e3:.0f}K" if count else "unknown"


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def details(folder: Path, parent: str = "") -> dict[str, Any]:
    config = read_config(folder)
    family = config.get("model_type", "unknown")
    return {
        "parent_model": parent,
        "format": "safetensors",
        "family": family,
        "families": [family],
        "parameter_size": size_label(parameter_count(folder)),
        "quantization_level": DTYPE_LABELS.get(str(config.get("dtype") or config.get("torch_dtype")), "F32"),
    }


def model_info(folder: Path) -> dict[str, Any]:
    """Ollama's ``model_info`` keys (``general.*``, ``<arch>.*``) from ``config.json``."""
    config = read_config(folder)
    arch = config.get("model_type", "unknown")
    rope = config.get("rope_parameters") or {}
    fields = {
        "context_length": config.get("max_position_embeddings"),
        "embedding_length": config.get("hidden_size"),
        "block_count": config.get("num_hidden_layers"),
        "feed_forward_length": config.get("intermediate_size"),
        "attention.head_count": config.get("num_attention_heads"),
        "attention.head_count_kv": config.get("num_key_value_heads"),
        "attention.layer_norm_rms_epsilon": config.get("rms_norm_eps"),
        "rope.freq_base": rope.get("rope_theta", config.get("rope_theta")),
        "vocab_size": config.get("vocab_size"),
    }
    info: dict[str, Any] = {
        "general.architecture": arch,
        "general.parameter_count": parameter_count(folder),
        "general.file_type": 0,
        "tokenizer.ggml.bos_token_id": config.get("bos_token_id"),
        "tokenizer.ggml.eos_token_id": config.get("eos_token_id"),
    }
    info.update({f"{arch}.{key}": value for key, value in fields.items() if value is not None})
    return info
