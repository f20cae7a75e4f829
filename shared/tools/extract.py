"""Pull the Python module out of an LLM's answer, fenced or not.

BRICK is asked for one ```python block, but models also answer with several blocks, an
unclosed fence, no fence at all, or prose around bare code. ``extract_code`` returns the most
plausible module: the first fenced block that defines a function (python-tagged blocks first),
else the text from its first line of code on, else the text if it parses, else nothing.
"""

from __future__ import annotations

import ast
import re

_FENCE = re.compile(r"^[ \t]*(```|~~~)[ \t]*([\w+.-]*)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.M | re.S)
_OPEN_FENCE = re.compile(r"^[ \t]*(```|~~~)[ \t]*([\w+.-]*)[^\n]*\n(.*)\Z", re.M | re.S)
_CODE_START = re.compile(r'^(?:import |from \w|def |async def |@|class |"""|\'\'\'|#|if __name__)', re.M)
_PYTHON_TAGS = {"python", "py", "python3", "py3"}


def _blocks(text: str) -> list[tuple[str, str]]:
    blocks = [(m.group(2).lower(), m.group(3)) for m in _FENCE.finditer(text)]
    if not blocks:  # a fence opened and never closed: everything after it
        m = _OPEN_FENCE.search(text)
        if m:
            blocks = [(m.group(2).lower(), m.group(3))]
    return blocks


def extract_code(text: str) -> str:
    """The Python module in ``text`` (may be empty); never raises."""
    blocks = _blocks(text)
    if blocks:
        ranked = sorted(blocks, key=lambda b: (b[0] not in _PYTHON_TAGS and b[0] != "", "def " not in b[1]))
        return ranked[0][1].strip("\n")
    m = _CODE_START.search(text)
    if m:
        return text[m.start():].strip("\n")
    try:
        ast.parse(text)
    except SyntaxError:
        return ""  # prose only: "no Python code found" is the better feedback
    return text.strip("\n")
