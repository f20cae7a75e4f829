"""Tool calls as data, run where the sandbox is: here (``LocalInvoker``) or by a forge worker (``RemoteInvoker``).

Only the tool-forge worker kind holds the Docker engine (in compose, only it mounts the
socket), so the API and the cognition worker call tools through ``RemoteInvoker``: an
``invoke_tool`` job on the tool-forge queue whose JSON result they await. Either way the
tool's code runs in a sandbox container through ``invoke_tool`` and nowhere else. Failures are
results too (``ok=False`` with ``error_type``): ``NotFound`` and ``InvalidInput`` for a bad
call, the exception type for a tool that raised, the sandbox reason for a run cut short,
``SandboxUnavailable`` without Docker and ``Timeout`` when no worker answered in time (the
fixed ones are ``shared.sandbox.ErrorType``). ``ToolCallResult.exception()`` turns a failed call
into its ``shared.errors`` class, for a caller that raises (the API: its status follows).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Protocol

from arq.connections import ArqRedis
from pydantic import BaseModel

from shared.errors import (
    BatosError,
    InvalidInput,
    NotFound,
    SandboxUnavailable,
    ToolCallTimeout,
    ToolRaised,
    ToolRunFailed,
)
from shared.keys import JOB_INVOKE_TOOL, QUEUE_TOOL_FORGE, tool_call_job_id
from shared.queues import enqueue

if TYPE_CHECKING:
    from shared.sandbox.runner import Sandbox

from shared.sandbox import ErrorType, Reason
from shared.tools.invoke import invoke_tool
from shared.tools.registry import ToolRegistry


class ToolCallResult(BaseModel):
    """What one tool call produced (the JSON a remote call travels as)."""

    tool: str
    version: int | None = None
    ok: bool
    value: Any = None
    error: str | None = None
    error_type: str | None = None  # an ErrorType, a Reason value or the tool's exception name
    reason: Reason | None = None  # how the sandbox run ended, when it ran
    duration_s: float = 0.0

    @property
    def tool_failed(self) -> bool:
        """The function itself raised (as opposed to a bad call, a cut-short run or no sandbox)."""
        return self.reason in (Reason.OK, Reason.ERROR) and self.error_type not in (None, ErrorType.PROTOCOL_ERROR)

    def exception(self) -> BatosError:
        """The error a failed call is: ``NotFound``, ``InvalidInput``, ``SandboxUnavailable``,
        ``ToolCallTimeout``, ``ToolRaised`` (the tool's own code) or else ``ToolRunFailed``."""
        known: dict[str | None, type[BatosError]] = {
            ErrorType.NOT_FOUND: NotFound, ErrorType.INVALID_INPUT: InvalidInput,
            ErrorType.SANDBOX_UNAVAILABLE: SandboxUnavailable, ErrorType.TIMEOUT: ToolCallTimeout,
        }
        kind = known.get(self.error_type) or (ToolRaised if self.tool_failed else ToolRunFailed)
        return kind(self.error or f"{self.tool}: {self.error_type}")


class Invoker(Protocol):
    async def __call__(self, name: str, args: dict[str, Any], version: int | None = None) -> ToolCallResult: ...


async def run_tool_call(registry: ToolRegistry, sandbox: Sandbox, name: str, args: Any,
                        version: int | None = None, timeout_s: float | None = None) -> ToolCallResult:
    """Run one call in the sandbox of this process; never raises for a bad call."""
    try:
        tool, result = await invoke_tool(registry, sandbox, name, args, version=version, timeout_s=timeout_s)
    except (NotFound, InvalidInput) as exc:
        error_type = ErrorType.NOT_FOUND if isinstance(exc, NotFound) else ErrorType.INVALID_INPUT
        return ToolCallResult(tool=name, version=version, ok=False, error=str(exc), error_type=error_type)
    run = result.sandbox
    return ToolCallResult(tool=tool.name, version=tool.version, ok=result.ok, value=result.value,
                          error=result.error, error_type=result.error_type,
                          reason=run.reason if run else None, duration_s=run.duration_s if run else 0.0)


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
                            idempotency_key=tool_call_job_id(uuid.uuid4().hex), _expires=self.timeout_s)
        assert job is not None  # a fresh id is never a duplicate
        try:
            raw = await job.result(timeout=self.timeout_s, poll_delay=self.poll_s)
        except TimeoutError:  # the job expires unrun, or its late result is dropped
            return self._failed(name, version, ErrorType.TIMEOUT,
                                f"no tool-forge worker ran the call within {self.timeout_s:g} s")
        except Exception as exc:  # arq re-raises what the job did: a result, not a crash here
            return self._failed(name, version, ErrorType.WORKER_ERROR, f"{type(exc).__name__}: {exc}")
        return ToolCallResult.model_validate(raw)

    @staticmethod
    def _failed(name: str, version: int | None, error_type: str, error: str) -> ToolCallResult:
        return ToolCallResult(tool=name, version=version, ok=False, error_type=error_type, error=error)
