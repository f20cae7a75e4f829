"""Model tags: the base tag, its aliases and the adapter tags, persisted as one JSON file.

The base tag (``local_llm_base_tag``) always exists and is not stored. Every created tag is
(``registry.json`` in the state dir, replaced atomically on each change), so tags survive a
restart; an adapter tag names its adapter by id (the folder under ``adapters/``), so copies and
re-creations of the same files share one loaded adapter.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from services.local_llm.errors import BadRequest

NAME = re.compile(r"^[a-z0-9][a-z0-9._\-/]*(:[a-z0-9._\-]+)?$")


def canonical(name: str) -> str:
    """Ollama's naming: case-insensitive, ``:latest`` when no tag is given."""
    name = name.strip().lower()
    for prefix in ("registry.ollama.ai/library/", "registry.ollama.ai/"):
        name = name.removeprefix(prefix)
    if not NAME.match(name):
        raise BadRequest("invalid model name")
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


@dataclass
class ModelEntry:
    name: str
    kind: Literal["base", "adapter"] = "base"
    parent: str = ""
    adapter_id: str | None = None
    adapter_files: dict[str, str] = field(default_factory=dict)
    system: str | None = None
    template: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    modified_at: float = field(default_factory=time.time)

    def renamed(self, name: str) -> ModelEntry:
        return ModelEntry(**{**asdict(self), "name": name, "modified_at": time.time()})


class Registry:
    def __init__(self, path: Path, base_tag: str, base_modified_at: float = 0.0):
        self.path = path
        self.base_tag = canonical(base_tag)
        self._base = ModelEntry(self.base_tag, "base", modified_at=base_modified_at or time.time())
        self._entries: dict[str, ModelEntry] = {}
        if path.is_file():
            for raw in json.loads(path.read_text()).get("models", []):
                entry = ModelEntry(**raw)
                self._entries[entry.name] = entry

    def get(self, name: str) -> ModelEntry | None:
        try:
            key = canonical(name)
        except BadRequest:
            return None
        return self._base if key == self.base_tag else self._entries.get(key)

    def all(self) -> list[ModelEntry]:
        return [self._base, *sorted(self._entries.values(), key=lambda e: e.name)]

    def put(self, entry: ModelEntry) -> None:
        if entry.name == self.base_tag:
            raise BadRequest(f"'{entry.name}' is the base model's tag and cannot be replaced")
        self._entries[entry.name] = entry
        self._save()

    def remove(self, name: str) -> ModelEntry:
        entry = self._entries.pop(canonical(name))
        self._save()
        return entry

    def users_of(self, adapter_id: str) -> list[str]:
        return [e.name for e in self._entries.values() if e.adapter_id == adapter_id]

    def adapter_ids(self) -> set[str]:
        return {e.adapter_id for e in self._entries.values() if e.adapter_id}

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"models": [asdict(e) for e in self._entries.values()]}, indent=1))
        os.replace(tmp, self.path)
