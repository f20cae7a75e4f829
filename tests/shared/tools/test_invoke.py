"""invoke_tool: arguments checked against the schema, then the registered source run in the sandbox."""

from __future__ import annotations

import pytest

from shared.errors import InvalidInput, NotFound
from shared.tools import ToolRegistry, check_tool_code, invoke_tool
from tests.support.sandbox import unreachable_sandbox
from tests.support.tool_sources import DIVIDE, WORD_COUNT
from workers.tool_forge.settings import DEFAULT_ALLOWED_IMPORTS


async def register(redis, *sources: str) -> ToolRegistry:
    registry = ToolRegistry(redis)
    for source in sources:
        await registry.register(check_tool_code(source, DEFAULT_ALLOWED_IMPORTS))
    return registry


@pytest.mark.docker
async def test_runs_in_the_sandbox_and_returns_the_value(redis, sandbox) -> None:
    registry = await register(redis, WORD_COUNT, DIVIDE)
    tool, result = await invoke_tool(registry, sandbox, "word_count", {"text": "one two three four",
                                                                       "min_length": 4})
    assert (tool.name, tool.version, result.ok, result.value) == ("word_count", 1, True, 2)
    assert result.sandbox is not None and result.sandbox.ok  # it ran in a container
    assert "all tests passed" not in result.sandbox.stdout  # the module's tests do not run on invocation


@pytest.mark.docker
async def test_the_tool_raising_is_a_result_not_an_exception(redis, sandbox) -> None:
    registry = await register(redis, DIVIDE)
    _tool, result = await invoke_tool(registry, sandbox, "divide", {"a": 1, "b": 0})
    assert not result.ok and result.error_type == "ValueError" and "b must not be zero" in (result.error or "")


@pytest.mark.parametrize(("args", "message"), [
    ({"a": 1}, "divide needs b"),
    ({"a": 1, "b": 2, "c": 3}, "no parameter(s) c"),
    ({"a": "one", "b": 2}, "a='one' does not fit"),
    ({"a": True, "b": 2}, "a=True does not fit"),
    ([1, 2], "must be a JSON object"),
])
async def test_bad_arguments_are_refused_before_any_container(redis, args, message) -> None:
    registry = await register(redis, DIVIDE)
    with pytest.raises(InvalidInput) as info:
        await invoke_tool(registry, unreachable_sandbox(), "divide", args)
    assert message in str(info.value)


async def test_unknown_tool(redis) -> None:
    with pytest.raises(NotFound):
        await invoke_tool(ToolRegistry(redis), unreachable_sandbox(), "nope", {})


async def test_no_docker_is_a_clear_result(redis) -> None:
    registry = await register(redis, DIVIDE)
    _tool, result = await invoke_tool(registry, unreachable_sandbox(), "divide", {"a": 1, "b": 2})
    assert not result.ok and result.error_type == "SandboxUnavailable"
