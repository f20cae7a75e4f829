"""Invoke a registered tool: its arguments checked against its schema, its code run in the sandbox.

The source comes from the registry and runs only through ``shared.sandbox.ainvoke_function``
(a fresh gVisor container per call); this process parses one JSON line back and nothing more.
Wrong arguments (unknown, missing, or of the wrong JSON type) raise ``InvalidInput`` before any
container starts; everything else comes back as an ``InvocationResult``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.errors import InvalidInput

if TYPE_CHECKING:
    from shared.sandbox.runner import Sandbox

from shared.sandbox import InvocationResult, ainvoke_function
from shared.tools.registry import ToolRegistry, ToolVersion

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,), "number": (int, float), "string": (str,), "boolean": (bool,),
    "array": (list,), "object": (dict,), "null": (type(None),),
}


def _fits(value: Any, schema: dict[str, Any]) -> bool:
    """A shallow JSON-type check (the function itself checks the rest)."""
    if "anyOf" in schema:
        return any(_fits(value, s) for s in schema["anyOf"])
    if "enum" in schema:
        return value in schema["enum"]
    kind = schema.get("type")
    if kind is None:
        return True
    if isinstance(value, bool) and kind in ("integer", "number"):
        return False
    return isinstance(value, _JSON_TYPES.get(kind, (object,)))


def check_arguments(tool: ToolVersion, args: Any) -> None:
    """``InvalidInput`` naming what is wrong with ``args`` for ``tool``."""
    if not isinstance(args, dict):
        raise InvalidInput(f"arguments of {tool.name} must be a JSON object")
    properties: dict[str, Any] = tool.parameters.get("properties", {})
    unknown = sorted(set(args) - set(properties))
    if unknown:
        raise InvalidInput(f"{tool.name} has no parameter(s) {', '.join(unknown)}; its signature is "
                           f"{tool.signature}")
    missing = [p for p in tool.parameters.get("required", []) if p not in args]
    if missing:
        raise InvalidInput(f"{tool.name} needs {', '.join(missing)}; its signature is {tool.signature}")
    for key, value in args.items():
        if not _fits(value, properties[key]):
            raise InvalidInput(f"{tool.name}: {key}={value!r} does not fit {properties[key]}")


async def invoke_tool(registry: ToolRegistry, sandbox: Sandbox, name: str, args: dict[str, Any], *,
                      version: int | None = None, timeout_s: float | None = None,
                      ) -> tuple[ToolVersion, InvocationResult]:
    """Run ``name(**args)`` in the sandbox; ``NotFound`` / ``InvalidInput`` before it runs."""
    tool = await registry.get(name, version)
    check_arguments(tool, args)
    result = await ainvoke_function(sandbox, tool.source, tool.name, args, timeout_s=timeout_s)
    return tool, result
