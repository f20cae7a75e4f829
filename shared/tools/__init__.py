"""Forged tools: code checks, the registry, forge job records, invocation and persona tool calling.

LLM-written tool code is stored here as text and runs only in ``shared.sandbox``; nothing in
this package imports or executes it. ``workers.tool_forge`` writes tools; the API and the
cognition worker read and invoke them.
"""

from shared.errors import CodeRejected
from shared.tools.calls import Invoker, LocalInvoker, RemoteInvoker, ToolCallResult, run_tool_call
from shared.tools.code_checks import CheckedTool, check_tool_code
from shared.tools.extract import extract_code
from shared.tools.invoke import check_arguments, invoke_tool
from shared.tools.jobs import Attempt, ForgeJob, ForgeJobStore, ToolSpec
from shared.tools.registry import ToolRegistry, ToolVersion
from shared.tools.submit import forge_job_id, submit_tool_spec
from shared.tools.toolbox import ToolBox, toolbox_for

__all__ = [
    "Attempt",
    "CheckedTool",
    "CodeRejected",
    "ForgeJob",
    "ForgeJobStore",
    "Invoker",
    "LocalInvoker",
    "RemoteInvoker",
    "ToolBox",
    "ToolCallResult",
    "ToolRegistry",
    "ToolSpec",
    "ToolVersion",
    "check_arguments",
    "check_tool_code",
    "extract_code",
    "forge_job_id",
    "invoke_tool",
    "run_tool_call",
    "submit_tool_spec",
    "toolbox_for",
]
