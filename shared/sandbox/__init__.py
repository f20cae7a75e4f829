"""The tool sandbox: untrusted (LLM-written) Python runs only here, never in a service process.

``Sandbox.run`` executes a program in a throw-away gVisor container and returns a
``SandboxResult``; ``invoke_function`` calls one function of a tool module there with JSON
arguments. Workers call ``Sandbox.reap_leftovers()`` at start-up.
"""

from shared.sandbox.invoke import InvocationResult, ainvoke_function, invoke_function
from shared.sandbox.result import Reason, SandboxResult
from shared.sandbox.runner import Sandbox
from shared.sandbox.settings import SandboxSettings

__all__ = [
    "InvocationResult",
    "Reason",
    "Sandbox",
    "SandboxResult",
    "SandboxSettings",
    "ainvoke_function",
    "invoke_function",
]
