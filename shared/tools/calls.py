"""Tool calls as data, run where the sandbox is: here (``LocalInvoker``) or by a forge worker (``RemoteInvoker``).

Only the tool-forge worker kind holds the Docker engine (in compose, only it mounts the
socket), so the API and the cognition worker call tools through ``RemoteInvoker``: an
``invoke_tool`` job on the tool-forge queue whose JSON result they await. Either way the
tool's code runs in a sandbox container through ``invoke_tool`` and nowhere else. Failures are
results too (``ok=False`` with ``error_type``): ``NotFound`` and ``InvalidInput`` for a bad
call, the exception type for a tool that raised, the sandbox reason for a run cut short,
``SandboxUnavailable`` without Docker and ``Timeout`` when no worker answered in time.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Protocol

from arq.connections import ArqRedis
from pydantic import BaseModel

from shared.errors import InvalidInput, NotFound
from shared.keys import JOB_INVOKE_TOOL, QUEUE_TOOL_FORGE
from shared.queues import enqueue

if TYPE_CHECKING:
    from shared.sandbox.runner import Sandbox

from shared.sandbox import Reason
from shared.tools.invoke import invoke_tool
from shared.tools.registry import ToolRegistry


class ToolCallResult(BaseModel):
    """What one tool call produced (the JSON a remote call travels as)."""

    tool: str
    version: int | None = None
    ok: bool
    value: Any = None
    error: str | None = None
    error_type: str | None = None
    reason: str | None = None  # the sandbox run's Reason, when it ran
    duration_s: float = 0.0

    @property
    def tool_failed(self) -> bool:
        """The function itself raised (as opposed to a bad call, a cut-short run or no sandbox)."""
        return self.reason in (Reason.OK, Reason.ERROR) and self.error_type not in (None, "ProtocolError")


class Invoker(Protocol):
    async def __call__(self, name: str, args: dict[str, Any], version: int | None = None) -> ToolCallResult: ...


async def run_tool_call(registry: ToolRegistry, sandbox: Sandbox, name: str, args: Any,
                        version: int | None = None, timeout_s: float | None = None) -> ToolCallResult:
    """Run one call in the sandbox of this process; never raises for a bad call."""
    try:
        tool, result = await invoke_tool(registry, sandbox, name, args, version=version, timeout_s=timeout_s)
    except (NotFound, InvalidInput) as exc:
        return ToolCallResult(tool=name, version=version, ok=False, error=str(exc), error_type=type(exc).__name__)
    run = result.sandbox
    return ToolCallResult(tool=tool.name, version=tool.version, ok=result.ok, value=result.value,
                          error=result.error, error_type=result.error_type,
                          reason=run.reason.value if run else None, duration_s=run.duration_s if run else 0.0)


class LocalInvoker:
    """Calls run in this process's sandbox (the forge worker; tests)."""

    def __init__(self, registry: ToolRegistry, sandbox: Sandbox, timeout_s: float | None = None):
        self.registry, self.sandbox, self.timeout_s = registry, sandbox, timeout_s

    async def __call__(self, name: str, args: dict[str, Any], version: int | None = None) -> ToolCallResult:
        return await run_tool_call(self.registry, self.sandbox, name, args, version, self.timeout_s)


class RemoteInvoker:
    """Calls run by a tool-forge worker: an ``invoke_tool`` job, its result awaited."""

    def __init__(self, redis: ArqRedis, timeout_s: float = 30.0, poll_s: float = 0.02):
        self.redis, self.timeout_s, self.poll_s = redis, timeout_s, poll_s

    async def __call__(self, name: str, args: dict[str, Any], version: int | None = None) -> ToolCallResult:
        job = await enqueue(self.redis, QUEUE_TOOL_FORGE, JOB_INVOKE_TOOL, name, args, version,
                            idempotency_key=f"invoke:{uuid.uuid4().hex}", _expires=self.timeout_s)
        assert job is not None  # a fresh id is never a duplicate
        try:
            raw = await job.result(timeout=self.timeout_s, poll_delay=self.poll_s)
        except TimeoutError:  # the job expires unrun, or its late result is dropped
            return self._failed(name, version, "Timeout",
                                f"no tool-forge worker ran the call within {self.timeout_s:g} s")
        except Exception as exc:  # arq re-raises what the job did: a result, not a crash here
            return self._failed(name, version, "WorkerError", f"{type(exc).__name__}: {exc}")
        return ToolCallResult.model_validate(raw)

    @staticmethod
    def _failed(name: str, version: int | None, error_type: str, error: str) -> ToolCallResult:
        return ToolCallResult(tool=name, version=version, ok=False, error_type=error_type, error=error)
