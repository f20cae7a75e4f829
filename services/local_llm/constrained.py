"""Grammar-constrained decoding with xgrammar 0.2.9: ``format`` and tool calls always parse.

- ``format: {schema}`` is compiled with xgrammar's JSON-schema converter (it enforces
  ``minimum``/``maximum``, ``maxLength``, ``enum``, ``required``, ``$ref``; compact separators, no
  free whitespace, so the model cannot loop on blanks); ``format: "json"`` is any JSON object.
  Compiled grammars are cached by their canonical JSON text (a compile costs ~0.3 s).
- :class:`GrammarProcessor` is a transformers ``LogitsProcessor`` holding one stateful
  ``GrammarMatcher``: a new one per request. It masks every token the grammar refuses, so EOS
  is allowed only where the grammar accepts the answer as complete.
- If ``num_predict`` runs out mid-JSON, ``closing`` finishes the JSON in a short greedy grace
  phase, so the answer still parses; ``done_reason`` is then ``length``.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

import torch
import xgrammar as xgr
from transformers import LogitsProcessor

from services.local_llm import tool_calls
from services.local_llm.errors import BadRequest
from services.local_llm.schemas import Tool

ANY_OBJECT = '{"type": "object"}'
CACHE_SIZE = 64
TEXT_EBNF = "root ::= [^<] [^]*"


class GrammarFactory:
    """Compiles and caches grammars for one tokenizer."""

    def __init__(self, tokenizer: Any, vocab_size: int, stop_token_ids: list[int], threads: int = 2):
        self.vocab_size = vocab_size
        info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size, stop_token_ids=stop_token_ids)
        self._compiler = xgr.GrammarCompiler(info, max_threads=threads)
        self._cache: OrderedDict[str, Any] = OrderedDict()

    def for_request(self, fmt: str | dict[str, Any] | None, tools: list[Tool] | None) -> Any | None:
        """The compiled grammar of a request, or None when it is free text."""
        schema = _format_schema(fmt)
        if not tools:
            return None if schema is None else self._cached(f"schema:{schema}", lambda: self._json(schema))
        key = json.dumps([[t.function.name, t.function.parameters] for t in tools])
        return self._cached(f"tools:{key}|{schema}", lambda: self._compiler.compile_grammar(
            tool_calls.grammar(xgr, tools, _json_grammar(schema) if schema else xgr.Grammar.from_ebnf(TEXT_EBNF))))

    def _json(self, schema: str) -> Any:
        return self._compiler.compile_grammar(_json_grammar(schema))

    def _cached(self, key: str, build: Any) -> Any:
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        try:
            compiled = build()
        except (RuntimeError, ValueError, TypeError) as exc:
            raise BadRequest(f"invalid JSON schema: {exc}") from None
        self._cache[key] = compiled
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return compiled


def _format_schema(fmt: str | dict[str, Any] | None) -> str | None:
    if fmt == "json":
        return ANY_OBJECT
    if isinstance(fmt, dict):
        return json.dumps(fmt)  # key order kept: it is the order the properties are written in
    return None


def _json_grammar(schema: str) -> Any:
    strict = schema != ANY_OBJECT  # "json" means any object: its keys are free
    return xgr.Grammar.from_json_schema(schema, any_whitespace=False, strict_mode=strict)


class GrammarProcessor(LogitsProcessor):
    """Masks the logits with one request's grammar; follows the ids it is shown (batch of one)."""

    def __init__(self, compiled: Any, prompt_len: int, vocab_size: int):
        self.matcher = xgr.GrammarMatcher(compiled)
        self._bitmask = xgr.allocate_token_bitmask(1, vocab_size)
        self.prompt_len = self._seen = prompt_len
        self.vocab_size = vocab_size

    def sync(self, input_ids: torch.Tensor) -> None:
        """Accept the ids generated since the last call (the last sampled one, or more)."""
        for token in input_ids[0, self._seen :].tolist():
            if not self.matcher.is_terminated() and not self.matcher.accept_token(token):
                raise RuntimeError(f"grammar refused token {token} it had allowed")
        self._seen = input_ids.shape[1]

    @property
    def complete(self) -> bool:
        return self.matcher.is_completed() or self.matcher.is_terminated()

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        self.sync(input_ids)
        if self.matcher.is_terminated():
            return scores
        self.matcher.fill_next_token_bitmask(self._bitmask)
        xgr.apply_token_bitmask_inplace(scores, self._bitmask.to(scores.device), vocab_size=self.vocab_size)
        return scores
