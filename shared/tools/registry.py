"""The tool registry in Redis: every version of every forged tool, and its Ollama definition.

A tool's name is its function's name (a snake_case identifier, unique in the registry).
Registering a name that exists adds a version: ``tool_versions_key(name)`` is a list of JSON
``ToolVersion`` records, oldest first, and the version number is assigned and appended by one
Lua call, so concurrent forges of the same name never share a number. ``TOOLS_INDEX`` orders
names by the time of their first version. The registry stores source as text and never
imports or runs it.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, Field
from redis.asyncio import Redis

from shared.errors import NotFound
from shared.keys import TOOLS_INDEX, tool_versions_key
from shared.redis_values import as_text
from shared.tools.code_checks import CheckedTool
from shared.tools.schema import summary

# KEYS: versions list, index zset. ARGV: record JSON without version ('{...}'), now, name
_REGISTER = """
local n = redis.call('LLEN', KEYS[1]) + 1
redis.call('RPUSH', KEYS[1], '{"version":' .. n .. ',' .. string.sub(ARGV[1], 2))
redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[3])
return n
"""


class ToolVersion(BaseModel):
    """One registered version of a tool."""

    version: int = Field(ge=1)
    name: str
    source: str
    signature: str
    docstring: str
    parameters: dict[str, Any]
    test_output: str = ""
    created_at: float
    spec: str = ""
    forge_job_id: str | None = None

    @property
    def description(self) -> str:
        return summary(self.docstring) or self.signature

    def ollama_tool(self) -> dict[str, Any]:
        """This version as an entry of Ollama's ``tools=`` list."""
        params = {k: v for k, v in self.parameters.items() if k != "additionalProperties"}
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": params}}


class ToolRegistry:
    """Register, read and list tools."""

    def __init__(self, redis: Redis):
        self._redis = redis
        self._register = redis.register_script(_REGISTER)

    async def register(self, tool: CheckedTool, *, test_output: str = "", spec: str = "",
                       forge_job_id: str | None = None) -> ToolVersion:
        """Store ``tool`` as the next version of its name; returns the stored record."""
        now = time.time()
        draft = ToolVersion(version=1, name=tool.name, source=tool.source, signature=tool.signature,
                            docstring=tool.docstring, parameters=tool.parameters, test_output=test_output,
                            created_at=now, spec=spec, forge_job_id=forge_job_id)
        body = draft.model_dump_json(exclude={"version"})
        version = await self._register(keys=[tool_versions_key(tool.name), TOOLS_INDEX],
                                       args=[body, now, tool.name])
        return draft.model_copy(update={"version": int(version)})

    async def get(self, name: str, version: int | None = None) -> ToolVersion:
        """The latest (or the given) version; ``NotFound`` when there is none."""
        index = -1 if version is None else version - 1
        raw = await self._redis.lindex(tool_versions_key(name), index) if index >= -1 and version != 0 else None
        if raw is None:
            what = f"tool {name!r}" + (f" version {version}" if version is not None else "")
            raise NotFound(f"no {what}")
        return ToolVersion.model_validate_json(raw)

    async def versions(self, name: str) -> list[ToolVersion]:
        """Every version, oldest first; ``NotFound`` for an unknown name."""
        raws = await self._redis.lrange(tool_versions_key(name), 0, -1)
        if not raws:
            raise NotFound(f"no tool {name!r}")
        return [ToolVersion.model_validate_json(r) for r in raws]

    async def names(self, limit: int = 500, offset: int = 0) -> list[str]:
        """Tool names, oldest first."""
        raw = await self._redis.zrange(TOOLS_INDEX, offset, offset + limit - 1)
        return [as_text(n) for n in raw]

    async def count(self) -> int:
        return int(await self._redis.zcard(TOOLS_INDEX))

    async def latest(self, limit: int = 500, offset: int = 0) -> list[ToolVersion]:
        """The latest version of each tool, oldest tool first."""
        names = await self.names(limit, offset)
        if not names:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.lindex(tool_versions_key(name), -1)
            raws = await pipe.execute()
        return [ToolVersion.model_validate_json(r) for r in raws if r is not None]

    async def as_ollama_tools(self, limit: int = 64) -> list[dict[str, Any]]:
        """Ollama ``tools=`` definitions of the latest version of (at most ``limit``) tools."""
        return [t.ollama_tool() for t in await self.latest(limit)]
