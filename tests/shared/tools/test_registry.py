"""ToolRegistry: versions per name, assigned atomically; Ollama tool definitions."""

from __future__ import annotations

import asyncio

import pytest

from shared.errors import NotFound
from shared.keys import TOOLS_INDEX
from shared.tools import ToolRegistry, check_tool_code
from tests.support.tool_sources import DIVIDE, WORD_COUNT
from workers.tool_forge.settings import DEFAULT_ALLOWED_IMPORTS


def checked(code: str):
    return check_tool_code(code, DEFAULT_ALLOWED_IMPORTS)


async def test_register_get_and_versions(redis) -> None:
    registry = ToolRegistry(redis)
    first = await registry.register(checked(WORD_COUNT), test_output="all tests passed", spec="count words",
                                    forge_job_id="job-1")
    assert (first.name, first.version, first.test_output, first.forge_job_id) == ("word_count", 1,
                                                                                 "all tests passed", "job-1")
    second = await registry.register(checked(WORD_COUNT.replace("Count words.", "Count words, v2.")))
    assert second.version == 2
    assert (await registry.get("word_count")).version == 2
    assert (await registry.get("word_count", 1)).source == WORD_COUNT
    assert [v.version for v in await registry.versions("word_count")] == [1, 2]
    assert await registry.names() == ["word_count"] and await registry.count() == 1
    assert await redis.zscore(TOOLS_INDEX, "word_count") == pytest.approx(first.created_at)  # first version


async def test_unknown_names_and_versions_are_not_found(redis) -> None:
    registry = ToolRegistry(redis)
    await registry.register(checked(DIVIDE))
    for call in (registry.get("nope"), registry.get("divide", 2), registry.get("divide", 0),
                 registry.versions("nope")):
        with pytest.raises(NotFound):
            await call


async def test_concurrent_registrations_get_distinct_versions(redis) -> None:
    registry = ToolRegistry(redis)
    tools = await asyncio.gather(*(registry.register(checked(DIVIDE)) for _ in range(20)))
    assert sorted(t.version for t in tools) == list(range(1, 21))
    assert [v.version for v in await registry.versions("divide")] == list(range(1, 21))


async def test_ollama_tool_definitions(redis) -> None:
    registry = ToolRegistry(redis)
    await registry.register(checked(WORD_COUNT))
    await registry.register(checked(DIVIDE))
    tools = await registry.as_ollama_tools()
    assert [t["function"]["name"] for t in tools] == ["word_count", "divide"]
    word_count = tools[0]
    assert word_count["type"] == "function"
    assert word_count["function"]["description"] == "Count the words in a text."
    params = word_count["function"]["parameters"]
    assert params["type"] == "object" and params["required"] == ["text"]
    assert params["properties"]["text"] == {"type": "string", "description": "the text to count words in"}
