"""Call one function of a tool module in the sandbox with JSON arguments.

The tool's source is mounted as /app/tool.py and the constant harness (``harness.py``) imports
it *inside the sandbox*; the host only writes JSON in and parses one marked JSON line out.
LLM-written code is never imported or executed in this process.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from shared.sandbox.harness import ARGS_FILE, HARNESS_SOURCE, TOOL_FILE
from shared.sandbox.result import Reason, SandboxResult

if TYPE_CHECKING:
    from shared.sandbox.runner import Sandbox


class ErrorType(StrEnum):
    """The ``error_type`` of a call that failed outside the tool's own code.

    Otherwise ``error_type`` is the name of the exception the tool raised (``ValueError``), or
    the run's ``Reason`` value when the run was cut short (``timeout``). The values travel as
    they are (JSON, the API's answers); each names the ``shared.errors`` class it stands for
    where there is one.
    """

    SANDBOX_UNAVAILABLE = "SandboxUnavailable"  # no engine, runtime or image: nothing ran
    PROTOCOL_ERROR = "ProtocolError"  # the harness's result line was unreadable
    NOT_FOUND = "NotFound"  # no such tool or version (shared.tools, before anything ran)
    INVALID_INPUT = "InvalidInput"  # arguments that do not fit the signature (shared.tools)
    TIMEOUT = "Timeout"  # no tool-forge worker ran the call in time (shared.tools.RemoteInvoker)
    WORKER_ERROR = "WorkerError"  # the worker's job raised (shared.tools.RemoteInvoker)


@dataclass(frozen=True, slots=True)
class InvocationResult:
    """The function's JSON value when ``ok``, else ``error`` (and its exception type)."""

    ok: bool
    value: Any
    error: str | None
    error_type: str | None  # an ErrorType, a Reason value or the tool's exception name
    sandbox: SandboxResult | None


def _failed(error_type: str, error: str, sandbox: SandboxResult | None = None) -> InvocationResult:
    return InvocationResult(False, None, error, error_type, sandbox)


def _parse(marker: str, function_name: str, run: SandboxResult) -> InvocationResult:
    lines = [line for line in run.stdout.splitlines() if line.startswith(marker)]
    if run.reason is Reason.SANDBOX_UNAVAILABLE:
        return _failed(ErrorType.SANDBOX_UNAVAILABLE, run.message, run)
    if not lines or run.reason not in (Reason.OK, Reason.ERROR):
        detail = run.message or f"exit code {run.exit_code}"
        tail = run.stderr[-2000:].strip()
        return _failed(
            run.reason.value,
            f"{function_name} produced no result ({detail}){': ' + tail if tail else ''}",
            run,
        )
    try:
        payload = json.loads(lines[-1][len(marker) :])
    except ValueError as exc:
        return _failed(ErrorType.PROTOCOL_ERROR, f"unreadable result line: {exc}", run)
    if payload.get("ok") is True:
        return InvocationResult(True, payload.get("value"), None, None, run)
    error = payload.get("error") or {}
    message = str(error.get("message", ""))
    tb = str(error.get("traceback", "")).strip()
    return _failed(str(error.get("type", "Error")), f"{message}\n{tb}".strip() if tb else message, run)


def invoke_function(
    sandbox: Sandbox,
    source: str,
    function_name: str,
    args: dict[str, Any],
    *,
    timeout_s: float | None = None,
) -> InvocationResult:
    """Run ``function_name(**args)`` from the module ``source`` in the sandbox."""
    if not function_name.isidentifier() or function_name.startswith("_"):
        return _failed("ValueError", f"{function_name!r} is not a public function name")
    if not isinstance(args, dict) or not all(isinstance(k, str) for k in args):
        return _failed("TypeError", "args must be a JSON object (a dict with string keys)")
    try:
        args_json = json.dumps(args, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return _failed("TypeError", f"args are not JSON-serializable: {exc}")
    marker = f"@@batos-result-{secrets.token_hex(8)}@@"
    run = sandbox.run(
        HARNESS_SOURCE,
        files={TOOL_FILE: source, ARGS_FILE: args_json},
        args=[marker, function_name],
        timeout_s=timeout_s,
    )
    return _parse(marker, function_name, run)


async def ainvoke_function(
    sandbox: Sandbox,
    source: str,
    function_name: str,
    args: dict[str, Any],
    *,
    timeout_s: float | None = None,
) -> InvocationResult:
    """``invoke_function`` on a worker thread, for asyncio callers."""
    return await asyncio.to_thread(invoke_function, sandbox, source, function_name, args, timeout_s=timeout_s)
