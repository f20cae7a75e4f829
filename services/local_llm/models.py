"""Model management: create (alias, or base + LoRA adapter), copy, delete, and describing tags.

An adapter tag's files are copied from the blobs into ``<state>/adapters/<id>`` (the id hashes
the file digests, so the same files make one adapter however many tags use them), checked
against the base (``adapter_check``), then loaded over the shared base on the generation thread
before the tag is registered, so a bad adapter is a 400 and a created tag answers at once.
Deleting the last tag of an adapter unloads it and removes its folder.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from services.local_llm import model_info
from services.local_llm.adapter_check import CONFIG, WEIGHTS, check_adapter
from services.local_llm.errors import ApiError, BadRequest, LoadFailed, ModelNotFound, ServerBusy
from services.local_llm.http_io import iso_of
from services.local_llm.registry import ModelEntry, canonical
from services.local_llm.schemas import CreateRequest, Options
from services.local_llm.service import LocalLLM

REQUIRED_FILES = (CONFIG, WEIGHTS)


class Models:
    def __init__(self, llm: LocalLLM):
        self.llm = llm
        self.registry = llm.registry

    # --- create / copy / delete ---------------------------------------------------------------
    async def create(self, req: CreateRequest) -> list[dict[str, Any]]:
        """Create the tag; the progress statuses Ollama would stream, ending with success."""
        if req.files:
            raise BadRequest("creating a model from files is not supported here; use 'from' with 'adapters'")
        if req.quantize:
            raise BadRequest("quantization is not supported")
        name = canonical(req.target()) if req.target() else ""
        if not name:
            raise BadRequest("model is required")
        if not req.from_:
            raise BadRequest("neither 'from' or 'files' was specified")
        parent = self.llm.resolve(req.from_)
        parameters = _parameters(req.parameters)
        statuses: list[dict[str, Any]] = [{"status": "reading model metadata"}]
        if req.adapters:
            if parent.kind == "adapter":
                raise BadRequest(f"'{parent.name}' already has an adapter; create from the base model instead")
            adapter_id = await self._install_adapter(req.adapters)
            statuses += [{"status": "converting adapter"}]
            statuses += [{"status": f"using existing layer {d}"} for _, d in sorted(req.adapters.items())]
            entry = ModelEntry(name, "adapter", parent=parent.name, adapter_id=adapter_id,
                               adapter_files=dict(sorted(req.adapters.items())))
        else:
            entry = parent.renamed(name)
            entry.parent = parent.name
        entry.system = req.system if req.system is not None else parent.system
        entry.template = req.template if req.template is not None else parent.template
        entry.parameters = {**parent.parameters, **parameters}
        entry.modified_at = time.time()
        replaced = self.registry.get(name)
        self.registry.put(entry)
        if replaced is not None and replaced.adapter_id != entry.adapter_id:
            await self._release(replaced.adapter_id)
        return [*statuses, {"status": "writing manifest"}, {"status": "success"}]

    def copy(self, source: str, destination: str) -> None:
        entry = self.registry.get(source)
        if entry is None:
            raise ModelNotFound(source)  # Ollama words this one "model \"x\" not found"
        self.registry.put(entry.renamed(canonical(destination)))

    async def delete(self, name: str) -> None:
        entry = self.llm.resolve(name)
        if entry.name == self.registry.base_tag:
            raise BadRequest(f"'{entry.name}' is the base model this server serves; it cannot be deleted")
        self.registry.remove(entry.name)
        await self._release(entry.adapter_id)

    async def _install_adapter(self, files: dict[str, str]) -> str:
        missing = [f for f in REQUIRED_FILES if f not in files]
        if missing:
            raise BadRequest(f"a safetensors LoRA adapter needs {' and '.join(REQUIRED_FILES)}; missing {missing}")
        for filename in REQUIRED_FILES:
            if not self.llm.blobs.exists(files[filename]):
                raise BadRequest(f"{filename}: blob {files[filename]} not found; upload it to /api/blobs first")
        key = "\n".join(f"{f}={files[f]}" for f in REQUIRED_FILES)
        adapter_id = "a" + hashlib.sha256(key.encode()).hexdigest()[:20]
        folder = self.llm.adapters_dir / adapter_id
        if not folder.is_dir():
            await asyncio.to_thread(self._unpack, files, folder)
        try:
            await self.llm.call(functools.partial(self.llm.engine.load_adapter, adapter_id, folder))
        except (LoadFailed, ServerBusy):
            raise
        except ApiError as exc:
            if not self.registry.users_of(adapter_id):
                shutil.rmtree(folder, ignore_errors=True)
            raise BadRequest(f"the adapter could not be loaded: {exc.message}") from None
        return adapter_id

    def _unpack(self, files: dict[str, str], folder: Path) -> None:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            for filename in REQUIRED_FILES:
                shutil.copyfile(self.llm.blobs.path(files[filename]), tmp / filename)
            check_adapter(tmp, self.llm.model_path)
            tmp.chmod(0o755)
            try:
                tmp.rename(folder)
            except OSError:  # made meanwhile by a concurrent create of the same files
                pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    async def _release(self, adapter_id: str | None) -> None:
        if adapter_id is None or self.registry.users_of(adapter_id):
            return
        if self.llm.engine.ready:
            await self.llm.call(functools.partial(self.llm.engine.unload_adapter, adapter_id))
        shutil.rmtree(self.llm.adapters_dir / adapter_id, ignore_errors=True)

    # --- describing ---------------------------------------------------------------------------
    def summary(self, entry: ModelEntry) -> dict[str, Any]:
        """One model of ``/api/tags``."""
        base_size = _size(self.llm.model_path)
        size = base_size + (_size(self.llm.adapters_dir / entry.adapter_id) if entry.adapter_id else 0)
        return {"name": entry.name, "model": entry.name, "modified_at": iso_of(entry.modified_at), "size": size,
                "digest": self.digest(entry), "details": model_info.details(self.llm.model_path, entry.parent)}

    def digest(self, entry: ModelEntry) -> str:
        identity = {k: v for k, v in asdict(entry).items() if k not in ("name", "modified_at")}
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()

    def show(self, entry: ModelEntry) -> dict[str, Any]:
        path = self.llm.model_path
        template = _chat_template(path)
        lines = ["# Modelfile generated by the BAT OS local LLM server", f"# FROM {entry.name}", ""]
        lines.append(f"FROM {entry.parent or path}")
        lines += [f"ADAPTER {digest}" for digest in entry.adapter_files.values()]
        if template:
            lines.append(f'TEMPLATE """{template}"""')
        if entry.system is not None:
            lines.append(f'SYSTEM """{entry.system}"""')
        lines += [f"PARAMETER {k} {json.dumps(v) if isinstance(v, str) else v}" for k, v in _flat(entry.parameters)]
        body: dict[str, Any] = {
            "modelfile": "\n".join(lines) + "\n",
            "parameters": "\n".join(f"{k:<30} {json.dumps(v) if isinstance(v, str) else v}"
                                    for k, v in _flat(entry.parameters)),
            "template": template, "details": model_info.details(path, entry.parent),
            "model_info": model_info.model_info(path), "capabilities": ["completion", "tools"],
            "modified_at": iso_of(entry.modified_at), "license": "",
        }
        if entry.system is not None:
            body["system"] = entry.system
        return body

    def running(self) -> list[dict[str, Any]]:
        """``/api/ps``: the base once loaded, and every tag whose adapter is in memory."""
        if not self.llm.engine.ready:
            return []
        loaded = set(self.llm.engine.loaded_adapters())
        entries = [e for e in self.registry.all() if e.name == self.registry.base_tag or e.adapter_id in loaded]
        return [{**self.summary(e), "expires_at": "2318-01-01T00:00:00Z", "size_vram": 0,
                 "context_length": self.llm.settings.local_llm_num_ctx} for e in entries]


def _parameters(raw: dict[str, Any] | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        return Options.model_validate(raw).model_dump(exclude_unset=True)
    except ValidationError as exc:
        raise BadRequest(f"invalid parameters: {exc.errors()[0]['msg']}") from None


def _flat(parameters: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(k, item) for k, v in sorted(parameters.items()) for item in (v if isinstance(v, list) else [v])]


_sizes: dict[Path, int] = {}


def _size(folder: Path) -> int:
    """Folder sizes, remembered once known (folders never change after they are made)."""
    if folder not in _sizes:
        size = model_info.folder_size(folder)
        if not size:
            return 0
        _sizes[folder] = size
    return _sizes[folder]


def _chat_template(folder: Path) -> str:
    jinja = folder / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text()
    config = folder / "tokenizer_config.json"
    return str(json.loads(config.read_text()).get("chat_template") or "") if config.is_file() else ""
