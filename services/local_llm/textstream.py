"""Token ids in, text out: incremental detokenising with stop strings.

The whole answer is decoded again at each token (byte-level BPE makes that stable, and a few
hundred ids decode in microseconds), so multi-byte characters split over tokens come out
whole. Text that could still turn into a stop string is held back until it can't.
"""

from __future__ import annotations

from typing import Any


class TextAssembler:
    def __init__(self, tokenizer: Any, stops: list[str] | None = None):
        self._tokenizer = tokenizer
        self._stops = [s for s in (stops or []) if s]
        self._hold = max((len(s) for s in self._stops), default=1) - 1
        self.ids: list[int] = []
        self.text = ""
        self._sent = 0
        self.hit_stop = False

    def add(self, token_id: int) -> str:
        """Take one generated id; return the text that is now safe to send."""
        if self.hit_stop:
            return ""
        self.ids.append(token_id)
        text = str(self._tokenizer.decode(self.ids, skip_special_tokens=True))
        if text.endswith("\ufffd"):  # half of a multi-byte character
            return ""
        self.text = text
        if self._stops:
            found = [i for i in (text.find(s, max(0, self._sent - self._hold)) for s in self._stops) if i >= 0]
            if found:
                self.text = text[: min(found)]
                self.hit_stop = True
                return self.flush()
        safe = len(text) - self._hold
        if safe <= self._sent:
            return ""
        piece = text[self._sent : safe]
        self._sent = safe
        return piece

    def flush(self) -> str:
        """The held-back rest, once the answer is over."""
        piece = self.text[self._sent :]
        self._sent = len(self.text)
        return piece
