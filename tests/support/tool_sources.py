"""Tool modules as BRICK might answer them, for the tool, forge and API tests and the benchmark."""

from __future__ import annotations

WORD_COUNT = '''"""Count words."""
import re


def word_count(text: str, min_length: int = 1) -> int:
    """Count the words in a text.

    Args:
        text: the text to count words in
        min_length: ignore words shorter than this
    """
    return len([w for w in re.findall(r"[A-Za-z']+", text) if len(w) >= min_length])


if __name__ == "__main__":
    assert word_count("hello brave new world") == 4
    assert word_count("a bb ccc", min_length=2) == 2
    print("all tests passed")
'''

# The same tool with an off-by-one bug its own tests catch.
WORD_COUNT_BUGGY = WORD_COUNT.replace('r"[A-Za-z\']+", text)', 'r"[A-Za-z\']+", text)[1:]')

DIVIDE = '''"""Divide."""


def divide(a: float, b: float) -> float:
    """Divide a by b."""
    if b == 0:
        raise ValueError("b must not be zero")
    return a / b


if __name__ == "__main__":
    assert divide(6, 3) == 2
'''

FORBIDDEN_IMPORT = '''import os


def list_files(path: str) -> list[str]:
    """List files."""
    return os.listdir(path)


if __name__ == "__main__":
    assert isinstance(list_files("/"), list)
'''

TWO_FUNCTIONS = '''def add(a: int, b: int) -> int:
    """Add."""
    return a + b


def sub(a: int, b: int) -> int:
    """Subtract."""
    return a - b


if __name__ == "__main__":
    assert add(1, 2) == 3
'''


def fenced(code: str, prose: str = "Here is the tool.") -> str:
    """An answer as a chat model writes it: prose, then the code in a python fence."""
    return f"{prose}\n\n```python\n{code}\n```\n\nIt has tests."
