"""extract_code: the module in an LLM answer, fenced or not."""

from __future__ import annotations

from shared.tools import extract_code
from tests.support.tool_sources import WORD_COUNT, fenced


def test_a_python_fence_with_prose_around() -> None:
    assert extract_code(fenced(WORD_COUNT)) == WORD_COUNT.strip("\n")


def test_the_python_block_wins_over_other_blocks() -> None:
    text = f"Run it like this:\n```bash\npython tool.py\n```\nThe code:\n```py\n{WORD_COUNT}```\n"
    assert extract_code(text) == WORD_COUNT.strip("\n")


def test_an_untagged_fence_with_a_function() -> None:
    text = f"```\nsome output\n```\n```\n{WORD_COUNT}```"
    assert extract_code(text) == WORD_COUNT.strip("\n")


def test_an_unclosed_fence_takes_the_rest() -> None:
    assert extract_code(f"Sure!\n```python\n{WORD_COUNT}") == WORD_COUNT.strip("\n")


def test_tilde_fences() -> None:
    assert extract_code(f"~~~python\n{WORD_COUNT}~~~") == WORD_COUNT.strip("\n")


def test_bare_code_after_prose() -> None:
    assert extract_code(f"Certainly, here you go:\n{WORD_COUNT}") == WORD_COUNT.strip("\n")


def test_prose_only_gives_nothing_and_bare_statements_parse() -> None:
    assert extract_code("I cannot do that.") == ""
    assert extract_code("") == ""
    assert extract_code("x = 1\ny = 2\n") == "x = 1\ny = 2"
