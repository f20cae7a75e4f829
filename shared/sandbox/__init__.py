"""The tool sandbox: untrusted (LLM-written) Python runs only here, never in a service process.

``Sandbox.run`` executes a program in a throw-away gVisor container and returns a
``SandboxResult`` whose ``Reason`` says how the run ended; ``invoke_function`` calls one function
of a tool module there with JSON arguments, a failure typed by ``ErrorType`` (or the tool's own
exception name). Workers call ``Sandbox.reap_leftovers()`` at start-up. Failures are data here,
never exceptions: a caller that must stop raises ``shared.errors.SandboxUnavailable``.
"""

from typing import TYPE_CHECKING, Any

from shared.sandbox.invoke import ErrorType, InvocationResult, ainvoke_function, invoke_function
from shared.sandbox.result import Reason, SandboxResult
from shared.sandbox.settings import SandboxSettings

if TYPE_CHECKING:
    from shared.sandbox.runner import Sandbox


def __getattr__(name: str) -> Any:
    """``Sandbox`` is imported on first use: it loads the Docker SDK, which the API (it only
    enqueues tool calls) and the cognition worker never need, and which costs start-up time."""
    if name == "Sandbox":
        from shared.sandbox.runner import Sandbox

        return Sandbox
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ErrorType",
    "InvocationResult",
    "Reason",
    "Sandbox",
    "SandboxResult",
    "SandboxSettings",
    "ainvoke_function",
    "invoke_function",
]
