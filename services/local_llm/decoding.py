"""One answer from a loaded model: ``generate()`` with sampling options, grammar, stops and streaming.

Runs on the generation thread. The answer is decoded by transformers' ``generate()`` (the same
loop a bare ``generate()`` runs, so tokens/s match it) with our logits processors in front of its
samplers: a windowed repeat penalty (Ollama's ``repeat_penalty``/``repeat_last_n``) and the
grammar mask. A ``StoppingCriteria`` ends it when the client is gone or a stop string appeared;
a streamer hands each token to the :class:`TextAssembler` and the text to the request.
When the grammar is not complete after ``num_predict`` tokens, a greedy grace phase closes it
(see ``constrained``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import torch
from transformers import GenerationConfig, LogitsProcessor, LogitsProcessorList, StoppingCriteria
from transformers.generation.streamers import BaseStreamer

from services.local_llm.closing import Closers, close
from services.local_llm.constrained import GrammarProcessor
from services.local_llm.schemas import Options
from services.local_llm.textstream import TextAssembler


@dataclass
class Decoded:
    text: str
    done_reason: str
    prompt_eval_count: int
    eval_count: int
    prompt_eval_ns: int
    eval_ns: int


class RepeatPenalty(LogitsProcessor):
    """llama.cpp's penalty: divide (or multiply, if negative) the logits of the last n answer tokens.

    Only the answer's own tokens count, not the prompt's: a prompt that shows a format (a tool
    call, a JSON example) must not push the model away from writing it.
    """

    def __init__(self, penalty: float, last_n: int, prompt_len: int):
        self.penalty, self.last_n, self.prompt_len = penalty, last_n, prompt_len

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        answer = input_ids[:, self.prompt_len :]
        if answer.shape[1] == 0:
            return scores
        recent = answer[:, -self.last_n :] if self.last_n > 0 else answer
        picked = scores.gather(1, recent)
        picked = torch.where(picked < 0, picked * self.penalty, picked / self.penalty)
        return cast(torch.FloatTensor, scores.scatter(1, recent, picked))


class StopFlag(StoppingCriteria):
    def __init__(self, *flags: Callable[[], bool]):
        self._flags = flags

    def fired(self) -> bool:
        return any(flag() for flag in self._flags)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        return cast(torch.BoolTensor, torch.full((input_ids.shape[0],), self.fired(), dtype=torch.bool))


class TokenSink(BaseStreamer):
    """Receives each new token (``generate`` first puts the prompt, which is skipped)."""

    def __init__(self, on_token: Callable[[int], None]):
        self._on_token = on_token
        self._skip_prompt = True
        self.first_token_at: float | None = None

    def put(self, value: torch.Tensor) -> None:
        if self._skip_prompt:
            self._skip_prompt = False
            return
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        for token in value.reshape(-1).tolist():
            self._on_token(token)

    def end(self) -> None:
        self._skip_prompt = True  # a following generate() call starts with its prompt again


def decode(model: Any, tokenizer: Any, prompt_ids: list[int], options: Options, *, budget: int, stop_ids: list[int],
           cancelled: threading.Event, grammar: GrammarProcessor | None = None, closers: Closers | None = None,
           grace: int = 0, on_text: Callable[[str], None] | None = None) -> Decoded:
    assembler = TextAssembler(tokenizer, options.stop)
    want_text = on_text is not None or bool(options.stop)

    def on_token(token: int) -> None:
        if token in stop_ids:
            return
        if want_text:
            piece = assembler.add(token)
            if piece and on_text is not None:
                on_text(piece)
        else:
            assembler.ids.append(token)

    sink = TokenSink(on_token)
    stopping = StopFlag(cancelled.is_set, lambda: assembler.hit_stop)
    ids = torch.tensor([prompt_ids], dtype=torch.long)
    _seed(options.seed)
    started = time.perf_counter()
    processors: list[LogitsProcessor] = []
    if options.repeat_penalty != 1.0 and options.repeat_last_n != 0:
        processors.append(RepeatPenalty(options.repeat_penalty, options.repeat_last_n, len(prompt_ids)))
    if grammar is not None:
        processors.append(grammar)
    out = ids
    if budget > 0:
        out = _generate(model, ids, processors, stopping, sink, _config(options, budget, stop_ids, grammar is None))
    reason = "stop" if out.shape[1] > ids.shape[1] and int(out[0, -1]) in stop_ids else "length"
    if grammar is not None and reason == "length" and not stopping.fired() and grace > 0 and closers is not None:
        grammar.sync(out)
        if not grammar.complete:
            out = close(model, tokenizer, out, grammar, closers, max_tokens=grace, stop_ids=stop_ids,
                        should_stop=stopping.fired, on_token=on_token)
    if assembler.hit_stop:
        reason = "stop"
    ended = time.perf_counter()
    if want_text:
        tail = assembler.flush()
        if tail and on_text is not None:
            on_text(tail)
        text = assembler.text
    else:
        text = tokenizer.decode(assembler.ids, skip_special_tokens=True)
    first = sink.first_token_at or ended
    return Decoded(text=text, done_reason=reason, prompt_eval_count=len(prompt_ids),
                   eval_count=out.shape[1] - ids.shape[1], prompt_eval_ns=int((first - started) * 1e9),
                   eval_ns=int((ended - first) * 1e9))


def _generate(model: Any, ids: torch.Tensor, processors: list[LogitsProcessor], stopping: StopFlag,
              sink: TokenSink, config: GenerationConfig) -> torch.Tensor:
    with torch.inference_mode():
        return model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), generation_config=config,
                              logits_processor=LogitsProcessorList(processors), stopping_criteria=[stopping],
                              streamer=sink)


def _config(options: Options, budget: int, stop_ids: list[int], plain: bool) -> GenerationConfig:
    sample = options.temperature > 0
    fields: dict[str, Any] = {}
    if sample:  # greedy: no sampler settings at all (transformers warns about unused ones)
        fields = {"temperature": options.temperature, "top_k": options.top_k if options.top_k > 0 else None,
                  "top_p": options.top_p if 0 < options.top_p < 1 else None,
                  "min_p": options.min_p if options.min_p > 0 else None}
    return GenerationConfig(max_new_tokens=budget, do_sample=sample, eos_token_id=stop_ids, pad_token_id=stop_ids[0],
                            min_new_tokens=1 if plain else 0, **fields)


def _seed(seed: int | None) -> None:
    torch.manual_seed(seed if seed is not None else int.from_bytes(os.urandom(7), "little"))
