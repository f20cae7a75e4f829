"""Close a JSON answer that ran out of ``num_predict`` tokens, so it still parses and validates.

The grammar alone guarantees every prefix can be completed, not that the model completes it
soon. This grace phase (at most ``local_llm_structured_grace_tokens``) decodes greedily under the
grammar, but picks the token that closes the innermost open thing whenever the grammar allows
one: inside a string the closing quote; outside, the longest run of ``}``/``]``. Where the grammar
allows no closer (half a number, a required key still missing, a ``minLength`` not reached, a
fixed literal) the model's own best allowed token is taken. A tiny JSON lexer over the text so
far tells whether the answer is inside a string.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import transformers

QUOTE_ONLY = '"'
CACHE_ARG = "cache" if int(transformers.__version__.split(".")[0]) >= 5 else "past_key_values"  # renamed in v5
BRACKETS = set("]}")


class Closers:
    """The vocabulary's closing tokens for one tokenizer: ``"`` and the runs of ``]``/``}``."""

    def __init__(self, tokenizer: Any):
        self.quote = [i for i in range(len(tokenizer)) if tokenizer.decode([i]) == QUOTE_ONLY]
        runs = [(i, t) for i in range(len(tokenizer)) if (t := tokenizer.decode([i])) and set(t) <= BRACKETS]
        self.brackets = [i for i, _ in sorted(runs, key=lambda pair: -len(pair[1]))]  # longest first


def in_string(text: str) -> bool:
    inside = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and inside:
            escaped = True
        elif char == '"':
            inside = not inside
    return inside


def close(model: Any, tokenizer: Any, ids: torch.Tensor, grammar: Any, closers: Closers, *, max_tokens: int,
          stop_ids: list[int], should_stop: Callable[[], bool], on_token: Callable[[int], None]) -> torch.Tensor:
    """Continue ``ids`` until the grammar is complete (then end it with EOS); the longer ids.

    ``grammar`` is the request's ``GrammarProcessor``; ``on_token`` sees each new id, as the
    streamer does in ``generate()``.
    """
    grammar.sync(ids)
    generated: list[int] = []
    text = tokenizer.decode(ids[0, grammar.prompt_len :].tolist(), skip_special_tokens=True)
    past = None
    step_input = ids
    with torch.inference_mode():
        for _ in range(max_tokens):
            if should_stop():
                break
            out = model(input_ids=step_input, use_cache=True, **{CACHE_ARG: past})
            past = out.cache if CACHE_ARG == "cache" else out.past_key_values
            scores = grammar(torch.cat([ids, torch.tensor([generated], dtype=torch.long)], dim=1),
                             out.logits[:, -1, :].float())
            allowed = torch.isfinite(scores[0])
            token = _pick(allowed, scores[0], closers, in_string(text))
            generated.append(token)
            on_token(token)
            if token in stop_ids:
                break
            text += tokenizer.decode([token], skip_special_tokens=True)
            step_input = torch.tensor([[token]], dtype=torch.long)
    return torch.cat([ids, torch.tensor([generated], dtype=torch.long)], dim=1)


def _pick(allowed: torch.Tensor, scores: torch.Tensor, closers: Closers, inside: bool) -> int:
    for candidates in ([closers.quote] if inside else [closers.brackets]):
        for token in candidates:
            if allowed[token]:
                return token
    return int(torch.argmax(scores))
