"""Many LoRA adapters over one shared base in memory (peft), one of them active per request.

The first adapter wraps the base in a ``PeftModel`` (``PeftModel.from_pretrained``), later ones
are ``load_adapter``-ed beside it under their own name. A request selects its adapter with
``set_adapter``; a base request runs inside ``disable_adapter()``. Unloading the last adapter
``unload()``-s peft entirely, so a server without adapters runs the bare base at full speed.
Runs on the generation thread only (peft's active adapter is global state).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger(__name__)


class AdapterSet:
    def __init__(self, base: Any):
        self.model: Any = base
        self.loaded: dict[str, Path] = {}

    def ensure(self, adapter_id: str, folder: Path) -> None:
        if adapter_id in self.loaded:
            return
        from peft import PeftModel

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            if not self.loaded:
                self.model = PeftModel.from_pretrained(self.model, str(folder), adapter_name=adapter_id,
                                                       is_trainable=False)
            else:
                self.model.load_adapter(str(folder), adapter_name=adapter_id, is_trainable=False)
        self.model.eval()
        self.loaded[adapter_id] = folder
        log.info("adapter_loaded", adapter=adapter_id, loaded=len(self.loaded))

    def unload(self, adapter_id: str) -> None:
        if adapter_id not in self.loaded:
            return
        if len(self.loaded) == 1:
            self.model = self.model.unload()  # back to the bare base module tree
        else:
            others = [name for name in self.loaded if name != adapter_id]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                self.model.set_adapter(others[0])
                self.model.delete_adapter(adapter_id)
        del self.loaded[adapter_id]
        log.info("adapter_unloaded", adapter=adapter_id, loaded=len(self.loaded))

    @contextmanager
    def using(self, adapter_id: str | None) -> Iterator[Any]:
        """The model to run, with ``adapter_id`` active (None: the plain base)."""
        if adapter_id is not None:
            self.model.set_adapter(adapter_id)
            yield self.model
        elif self.loaded:
            with self.model.disable_adapter():
                yield self.model
        else:
            yield self.model

    def base_module(self, model: Any) -> Any:
        """The decoder stack (``LlamaModel``) under the causal-LM head, adapters included."""
        inner = model.get_base_model() if self.loaded else model
        return inner.model
