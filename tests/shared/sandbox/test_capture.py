"""Rendering of captured output: decoded, control characters escaped, capped as returned."""

from __future__ import annotations

import re
import unicodedata

import pytest

from shared.sandbox.capture import render
from shared.sandbox.watchdog import TRAILER, split_trailer


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"plain\n\ttab", "plain\n\ttab"),
        (b"\x1b[2J", "\\x1b[2J"),
        (b"a\x00b", "a\\x00b"),
        (b"\r\x7f", "\\x0d\\x7f"),
        ("\u009b".encode(), "\\x9b"),  # C1 CSI
        (b"\xff", "\ufffd"),
        ("é✓".encode(), "é✓"),
    ],
)
def test_render(raw: bytes, text: str) -> None:
    assert render(raw, 1024) == (text, False)


NO_BACKSLASH = bytes(c for c in range(256) if c != 0x5C)


@pytest.mark.parametrize("raw", [b"\xff" * 5000, b"\x1b" * 5000, "é".encode() * 5000, NO_BACKSLASH * 20])
def test_cap_counts_the_returned_text(raw: bytes) -> None:
    text, cut = render(raw, 4096)
    assert cut and len(text.encode()) <= 4096 and len(text.encode()) > 4096 - 8
    assert all(c in "\n\t" or unicodedata.category(c) != "Cc" for c in text)
    assert "\\" not in re.sub(r"\\x[0-9a-f]{2}", "", text)  # no escape cut in two


def test_trailer_is_split_off_only_at_the_end() -> None:
    assert split_trailer(b"err" + TRAILER + b"3\n") == (b"err", 3)
    assert split_trailer(b"err" + TRAILER + b"3\nmore") == (b"err" + TRAILER + b"3\nmore", None)
    assert split_trailer(b"") == (b"", None)
