"""The loaded model: load it, answer (chat/generate), embed, load and unload adapters.

Every method except :meth:`Engine.status` runs on the scheduler's generation thread, so torch,
transformers, peft and xgrammar are imported there (never at service import time) and the model
and its adapters are only ever touched by one thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from services.local_llm import tool_calls
from services.local_llm.errors import BadRequest, LoadFailed
from services.local_llm.prepare import CHATML_TEMPLATE, ensure_model_folder
from services.local_llm.prompting import PromptSpec, encode
from services.local_llm.scheduler import Job
from services.local_llm.schemas import Options, Tool
from services.local_llm.settings import LocalLLMSettings

log = structlog.get_logger(__name__)
EMBED_BATCH = 16


@dataclass
class Started:
    """The prompt is encoded and the grammar compiled: the answer begins."""

    prompt_eval_count: int


@dataclass
class Text:
    piece: str


@dataclass
class Answer:
    content: str
    tool_calls: list[dict[str, Any]]
    done_reason: str
    prompt_eval_count: int
    eval_count: int
    prompt_eval_ns: int
    eval_ns: int


@dataclass
class GenerationSpec:
    prompt: PromptSpec
    options: Options
    num_predict: int
    num_ctx: int
    format: str | dict[str, Any] | None = None
    tools: list[Tool] = field(default_factory=list)
    adapter: tuple[str, Path] | None = None
    stream: bool = False


class Engine:
    def __init__(self, settings: LocalLLMSettings):
        self.settings = settings
        self.path = settings.model_path()
        self.ready = False
        self.error: str | None = None
        self.loaded_at: float | None = None
        self._tokenizer: Any = None
        self._adapters: Any = None
        self._grammars: Any = None
        self._closers: Any = None
        self._stop_ids: list[int] = []
        self.max_context = 0

    # --- load ---------------------------------------------------------------------------------
    def load(self, job: Job | None = None) -> None:
        started = time.monotonic()
        try:
            self._load()
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            log.error("model_load_failed", folder=str(self.path), error=self.error)
            raise
        self.ready, self.loaded_at = True, time.time()
        log.info("model_loaded", folder=str(self.path), elapsed_s=round(time.monotonic() - started, 2))

    def _load(self) -> None:
        log.info("model_load_started", folder=str(self.path))
        import torch

        torch.set_num_threads(self.settings.local_llm_threads)
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        from services.local_llm.adapters import AdapterSet
        from services.local_llm.closing import Closers
        from services.local_llm.constrained import GrammarFactory

        hf_logging.disable_progress_bar()
        if self.settings.uses_bundled_model():
            ensure_model_folder(self.path, threads=self.settings.local_llm_threads)
        elif not (self.path / "config.json").is_file():
            raise FileNotFoundError(f"no Hugging Face model folder at {self.path}")
        log.info("model_load_reading", folder=str(self.path))
        tokenizer = AutoTokenizer.from_pretrained(self.path)
        if not tokenizer.chat_template:
            tokenizer.chat_template = CHATML_TEMPLATE
        tokenizer.padding_side = "right"  # embeddings: real tokens keep their positions
        model = AutoModelForCausalLM.from_pretrained(self.path, dtype=torch.float32)
        model.eval()
        ids = {tokenizer.eos_token_id, *_as_list(model.generation_config.eos_token_id)}
        self._stop_ids = sorted(i for i in ids if i is not None)
        self.max_context = int(getattr(model.config, "max_position_embeddings", 2048))
        log.info("model_load_grammar_index")
        self._grammars = GrammarFactory(tokenizer, model.config.vocab_size, self._stop_ids,
                                        self.settings.local_llm_threads)
        self._closers = Closers(tokenizer)
        self._tokenizer, self._adapters = tokenizer, AdapterSet(model)
        with torch.inference_mode():  # first call pays one-off allocations, not the first request
            model.generate(**tokenizer("Hi", return_tensors="pt"), max_new_tokens=2, do_sample=False,
                           pad_token_id=self._stop_ids[0])

    def require_ready(self) -> None:
        if not self.ready:
            raise LoadFailed(f"failed to load model: {self.error or 'not loaded'}")

    # --- answer -------------------------------------------------------------------------------
    def answer(self, spec: GenerationSpec, job: Job) -> Answer:
        from services.local_llm.constrained import GrammarProcessor
        from services.local_llm.decoding import decode

        self.require_ready()
        num_ctx = min(spec.num_ctx, self.max_context)
        budget = spec.num_predict if spec.num_predict >= 0 else num_ctx
        prompt_ids = encode(self._tokenizer, spec.prompt, num_ctx, reserve=min(max(budget, 1), num_ctx // 2))
        budget = max(0, min(budget, num_ctx - len(prompt_ids)))
        compiled = self._grammars.for_request(spec.format, spec.tools)
        grammar = None
        if compiled is not None:
            grammar = GrammarProcessor(compiled, len(prompt_ids), self._grammars.vocab_size)
        self._ensure(spec.adapter)  # a broken adapter fails the request before its status line is sent
        job.emit(Started(len(prompt_ids)))
        tool_branch: list[bool] = []

        def on_text(piece: str) -> None:
            if spec.tools and not tool_branch:
                tool_branch.append(piece.startswith("<"))
            if not (tool_branch and tool_branch[0]):
                job.emit(Text(piece))

        grace = min(self.settings.local_llm_structured_grace_tokens, self.max_context - len(prompt_ids) - budget)
        with self._adapters.using(spec.adapter[0] if spec.adapter else None) as model:
            out = decode(model, self._tokenizer, prompt_ids, spec.options, budget=budget, stop_ids=self._stop_ids,
                         cancelled=job.stop, grammar=grammar, closers=self._closers,
                         grace=max(grace, 0), on_text=on_text if spec.stream else None)
        content, calls = tool_calls.parse(out.text) if spec.tools else (out.text, [])
        seconds = (out.prompt_eval_ns + out.eval_ns) / 1e9
        log.info("answered", adapter=spec.adapter[0] if spec.adapter else None, prompt_tokens=out.prompt_eval_count,
                 tokens=out.eval_count, done_reason=out.done_reason, seconds=round(seconds, 3),
                 tokens_per_s=round(out.eval_count / seconds, 1) if seconds else None,
                 structured=compiled is not None, tool_calls=len(calls), cancelled=job.stop.is_set())
        return Answer(content, calls, out.done_reason, out.prompt_eval_count, out.eval_count, out.prompt_eval_ns,
                      out.eval_ns)

    # --- embed --------------------------------------------------------------------------------
    def embed(self, texts: list[str], adapter: tuple[str, Path] | None, truncate: bool, num_ctx: int,
              dimensions: int | None) -> tuple[list[list[float]], int]:
        import torch

        self.require_ready()
        limit = min(num_ctx, self.max_context)
        if not truncate:
            for text in texts:
                if len(self._tokenizer(text)["input_ids"]) > limit:
                    raise BadRequest("input length exceeds the context length")
        self._ensure(adapter)
        vectors: list[list[float]] = []
        tokens = 0
        with self._adapters.using(adapter[0] if adapter else None) as model, torch.inference_mode():
            stack = self._adapters.base_module(model)
            for start in range(0, len(texts), EMBED_BATCH):
                batch = self._tokenizer(texts[start : start + EMBED_BATCH], return_tensors="pt", padding=True,
                                        truncation=True, max_length=limit)
                mask = batch["attention_mask"].unsqueeze(-1).float()
                hidden = stack(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
                if dimensions:
                    pooled = pooled[:, :dimensions]
                vectors.extend(torch.nn.functional.normalize(pooled, dim=-1).tolist())
                tokens += int(batch["attention_mask"].sum())
        return vectors, tokens

    # --- adapters -----------------------------------------------------------------------------
    def load_adapter(self, adapter_id: str, folder: Path, job: Job | None = None) -> None:
        self.require_ready()
        self._adapters.ensure(adapter_id, folder)

    def unload_adapter(self, adapter_id: str, job: Job | None = None) -> None:
        if self._adapters is not None:
            self._adapters.unload(adapter_id)

    def loaded_adapters(self) -> list[str]:
        return list(self._adapters.loaded) if self._adapters is not None else []

    def _ensure(self, adapter: tuple[str, Path] | None) -> None:
        if adapter is not None:
            self._adapters.ensure(*adapter)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
