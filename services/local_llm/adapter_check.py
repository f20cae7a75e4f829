"""Does a LoRA adapter fit the base model? Checked from file headers, without torch.

Ollama wants the base an adapter was trained on. Here every LoRA tensor must name a module the
base has, with matching shapes (``lora_A``: ``[r, in_features]``, ``lora_B``: ``[out_features,
r]``; embeddings transposed); and when ``adapter_config.json`` names a local base folder, its
architecture (``model_type``, hidden size, layer count) must be the served one. That catches an
adapter of another model family or size with a 400 before peft ever sees it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from services.local_llm.errors import BadRequest
from services.local_llm.model_info import folder_shapes, read_config, tensor_shapes

CONFIG = "adapter_config.json"
WEIGHTS = "adapter_model.safetensors"
LORA_KEY = re.compile(
    r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<kind>A|B|embedding_A|embedding_B)(?:\.weight)?$"
)
ARCH_KEYS = ("model_type", "hidden_size", "num_hidden_layers")


def check_adapter(adapter: Path, base: Path) -> dict[str, Any]:
    """Raise ``BadRequest`` unless the adapter in ``adapter`` fits the base in ``base``; its config."""
    try:
        config = json.loads((adapter / CONFIG).read_text())
    except (OSError, ValueError) as exc:
        raise BadRequest(f"adapter has no readable {CONFIG}: {exc}") from None
    if not isinstance(config, dict):
        raise BadRequest(f"{CONFIG} is not a JSON object")
    if str(config.get("peft_type", "LORA")).upper() != "LORA":
        raise BadRequest(f"unsupported adapter type {config.get('peft_type')!r}: only LoRA adapters are supported")
    _check_architecture(config, base)
    try:
        shapes = tensor_shapes(adapter / WEIGHTS)
    except (OSError, ValueError, KeyError) as exc:
        raise BadRequest(f"adapter has no readable {WEIGHTS}: {exc}") from None
    if not shapes:
        raise BadRequest(f"{WEIGHTS} holds no tensors")
    base_shapes = _with_tied_head(folder_shapes(base), read_config(base))
    for name, shape in shapes.items():
        _check_tensor(name, shape, base_shapes)
    return config


def _check_architecture(config: dict[str, Any], base: Path) -> None:
    named = config.get("base_model_name_or_path")
    if not isinstance(named, str) or not (Path(named) / "config.json").is_file():
        return  # a hub id or a path of another machine: the shapes decide
    theirs, ours = read_config(Path(named)), read_config(base)
    for key in ARCH_KEYS:
        if key in theirs and key in ours and theirs[key] != ours[key]:
            raise BadRequest(f"adapter was trained on a different base model: {key} {theirs[key]!r} != {ours[key]!r}")


def _with_tied_head(shapes: dict[str, list[int]], config: dict[str, Any]) -> dict[str, list[int]]:
    if "lm_head.weight" not in shapes and config.get("tie_word_embeddings") and "model.embed_tokens.weight" in shapes:
        return {**shapes, "lm_head.weight": shapes["model.embed_tokens.weight"]}
    return shapes


def _check_tensor(name: str, shape: list[int], base_shapes: dict[str, list[int]]) -> None:
    match = LORA_KEY.match(name)
    if match is None:
        raise BadRequest(f"adapter tensor {name!r} is not a LoRA weight")
    module, kind = match["module"], match["kind"]
    weight = base_shapes.get(f"{module}.weight")
    if weight is None or len(weight) != 2 or len(shape) != 2:
        raise BadRequest(f"adapter targets {module!r}, which the base model does not have")
    out_features, in_features = weight
    expected = {"A": (None, in_features), "B": (out_features, None),
                "embedding_A": (None, out_features), "embedding_B": (in_features, None)}[kind]
    for have, want in zip(shape, expected, strict=True):
        if want is not None and have != want:
            raise BadRequest(f"adapter does not fit the base model: {name} has shape {shape}, "
                             f"the base's {module} weight is {weight}")
