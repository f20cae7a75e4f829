"""invoke_function: one tool function called in the sandbox with JSON arguments."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from shared.sandbox import Reason, Sandbox, invoke_function

pytestmark = pytest.mark.docker

TOOL = '''
"""A tool as BRICK writes it: one public function and tests under __main__."""
import sys


def add(a: int, b: int) -> int:
    """Add two integers."""
    print("chatty tool output")  # must not disturb the result
    return a + b


def explode(message: str) -> None:
    raise ValueError(message)


def not_json() -> object:
    return {1, 2, 3}


def hard_exit() -> None:
    import os
    os._exit(0)


def spin() -> None:
    while True:
        pass


if __name__ == "__main__":
    print("TESTS-RAN", file=sys.stderr)
    assert add(1, 2) == 3
    raise SystemExit("the tests ran during invocation")
'''


def test_returns_the_json_value(sandbox: Sandbox) -> None:
    result = invoke_function(sandbox, TOOL, "add", {"a": 2, "b": 40})
    assert result.ok and result.value == 42 and result.error is None
    assert result.sandbox is not None and result.sandbox.ok
    assert "chatty tool output" in result.sandbox.stderr  # the tool's prints go to stderr


def test_main_block_tests_do_not_run(sandbox: Sandbox) -> None:
    result = invoke_function(sandbox, TOOL, "add", {"a": 1, "b": 1})
    assert result.ok and result.sandbox is not None
    assert "TESTS-RAN" not in result.sandbox.stderr


def test_raising_function(sandbox: Sandbox) -> None:
    result = invoke_function(sandbox, TOOL, "explode", {"message": "kaboom"})
    assert not result.ok and result.error_type == "ValueError"
    assert result.error is not None and "kaboom" in result.error


def test_bad_arguments(sandbox: Sandbox) -> None:
    result = invoke_function(sandbox, TOOL, "add", {"a": 1, "c": 2})
    assert not result.ok and result.error_type == "TypeError"
    assert result.error is not None and "unexpected keyword argument 'c'" in result.error


def test_non_serializable_result(sandbox: Sandbox) -> None:
    result = invoke_function(sandbox, TOOL, "not_json", {})
    assert not result.ok and result.error_type == "NotSerializable"
    assert result.error is not None and "set" in result.error


def test_missing_function(sandbox: Sandbox) -> None:
    result = invoke_function(sandbox, TOOL, "subtract", {})
    assert not result.ok and result.error_type == "LookupError"


def test_tool_that_exits_without_a_result(sandbox: Sandbox) -> None:
    result = invoke_function(sandbox, TOOL, "hard_exit", {})
    assert not result.ok and result.error is not None and "no result" in result.error


def test_tool_that_never_returns(sandbox: Sandbox) -> None:
    result = invoke_function(sandbox, TOOL, "spin", {}, timeout_s=1.5)
    assert not result.ok and result.error_type == Reason.TIMEOUT.value


def test_syntax_error_in_tool(sandbox: Sandbox) -> None:
    result = invoke_function(sandbox, "def broken(:\n    pass\n", "broken", {})
    assert not result.ok and result.error_type == "SyntaxError"


def test_arguments_refused_on_the_host_without_a_run(sandbox: Sandbox) -> None:
    for name, args in (("add", {"a": float("nan")}), ("add", {"a": object()}), ("_private", {}), ("x y", {})):
        result = invoke_function(sandbox, TOOL, name, args)
        assert not result.ok and result.sandbox is None, (name, result)


def test_tool_code_never_runs_in_this_process(sandbox: Sandbox, tmp_path: Path) -> None:
    marker = tmp_path / "imported-on-host"
    source = f"open({str(marker)!r}, 'w').write('x')\n\ndef f() -> int:\n    return 1\n"
    result = invoke_function(sandbox, source, "f", {})
    assert not result.ok and result.error_type in ("FileNotFoundError", "PermissionError", "OSError")
    assert not marker.exists()
    assert "tool" not in sys.modules


async def test_async_invocation(sandbox: Sandbox) -> None:
    from shared.sandbox import ainvoke_function

    result = await ainvoke_function(sandbox, TOOL, "add", {"a": 3, "b": 4})
    assert result.ok and result.value == 7
