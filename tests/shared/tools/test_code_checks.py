"""check_tool_code: one clean public function, or a reason fit to feed back to BRICK."""

from __future__ import annotations

import pytest

from shared.tools import CodeRejected, check_tool_code
from tests.support.tool_sources import FORBIDDEN_IMPORT, TWO_FUNCTIONS, WORD_COUNT
from workers.tool_forge.settings import DEFAULT_ALLOWED_IMPORTS

ALLOWED = DEFAULT_ALLOWED_IMPORTS


def refusal(code: str, **kwargs: object) -> str:
    with pytest.raises(CodeRejected) as info:
        check_tool_code(code, ALLOWED, **kwargs)  # type: ignore[arg-type]
    return str(info.value)


def tool(body: str, head: str = "", tests: str = "    assert f(1) == 1\n") -> str:
    return f'{head}\ndef f(x: int) -> int:\n    """Identity."""\n{body}\n\nif __name__ == "__main__":\n{tests}'


def test_a_clean_tool_is_accepted_with_its_metadata() -> None:
    checked = check_tool_code(WORD_COUNT, ALLOWED)
    assert checked.name == "word_count"
    assert checked.signature == "word_count(text: str, min_length: int=1) -> int"
    assert checked.docstring.startswith("Count the words in a text.")
    assert checked.parameters["required"] == ["text"]
    assert checked.parameters["properties"]["min_length"]["default"] == 1
    assert checked.source == WORD_COUNT


def test_private_helpers_constants_and_allowed_imports_are_fine() -> None:
    code = tool("    return _twice(x) // 2", head="import math\nfrom collections import Counter\nLIMIT = 3\n\n"
                "def _twice(y: int) -> int:\n    return 2 * y\n\nclass _Box:\n    def __init__(self):\n"
                "        self.v = 1\n")
    assert check_tool_code(code, ALLOWED).name == "f"


@pytest.mark.parametrize(("code", "expected"), [
    ("def f(x: int) -> int:\n    return x +\n", "syntax error at line 2"),
    ("", "no Python code found"),
    ("X = 1\n", "no public function found"),
    (TWO_FUNCTIONS, "2 public functions (add, sub)"),
    (FORBIDDEN_IMPORT, "import of 'os' is not allowed"),
    (tool("    import subprocess\n    return x"), "import of 'subprocess' is not allowed"),
    (tool("    return x", head="from . import helpers\n"), "relative imports are not allowed"),
    (tool("    return ().__class__.__base__.__subclasses__()"), "is not allowed in a tool"),
    (tool("    return getattr(f, '__globals__')"), "'__globals__' looks like a dunder trick"),
    (tool("    return eval('x')"), "'eval' is not allowed"),
    (tool("    return __import__('os')"), "'__import__' is not allowed"),
    (tool("    return x", head="print('hi')\n"), "top-level Expr statement"),
    (tool("    return x", head="class Helper:\n    pass\n"), "public class Helper"),
    (tool("    return x", tests="    pass\n").replace('if __name__ == "__main__":\n    pass\n', ""),
     "no tests"),
    ('def f(x) -> int:\n    """Doc."""\n    return x\nif __name__ == "__main__":\n    f(1)\n',
     "parameter 'x' needs a type hint"),
    ('def f(x: int):\n    """Doc."""\n    return x\nif __name__ == "__main__":\n    f(1)\n', "return type hint"),
    ('def f(x: int) -> int:\n    return x\nif __name__ == "__main__":\n    f(1)\n', "add a docstring"),
    ('def f(*xs: int) -> int:\n    """D."""\n    return 1\nif __name__ == "__main__":\n    f(1)\n', "no *args"),
    ('async def f(x: int) -> int:\n    """D."""\n    return x\n', "plain `def`"),
    ('def fooBar(x: int) -> int:\n    """D."""\n    return x\nif __name__ == "__main__":\n    fooBar(1)\n',
     "must be snake_case"),
])
def test_refusals_name_the_rule(code: str, expected: str) -> None:
    assert expected in refusal(code)


def test_the_spec_may_fix_the_function_name() -> None:
    assert "must be named 'count_words', not 'word_count'" in refusal(WORD_COUNT, expected_name="count_words")
    assert check_tool_code(WORD_COUNT, ALLOWED, expected_name="word_count").name == "word_count"


def test_the_allow_list_is_a_setting() -> None:
    with pytest.raises(CodeRejected, match="import of 're'"):
        check_tool_code(WORD_COUNT, ["math"])
