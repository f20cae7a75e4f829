"""A failed tool call as the error it is: ``ToolCallResult.exception()`` over each kind of failure.

The ``error_type`` values stay the strings they always were (they travel as JSON); ``ErrorType``
names the fixed ones and ``Reason`` types how a run ended.
"""

from __future__ import annotations

import pytest

from shared.errors import (
    InvalidInput,
    NotFound,
    SandboxUnavailable,
    ToolCallTimeout,
    ToolRaised,
    ToolRunFailed,
)
from shared.sandbox import ErrorType, Reason
from shared.tools import ToolCallResult


def test_the_wire_values_are_the_old_strings() -> None:
    assert [e.value for e in ErrorType] == ["SandboxUnavailable", "ProtocolError", "NotFound", "InvalidInput",
                                            "Timeout", "WorkerError"]
    result = ToolCallResult(tool="divide", ok=False, error_type=ErrorType.TIMEOUT, reason=Reason.TIMEOUT)
    assert result.model_dump(mode="json")["error_type"] == "Timeout"
    assert result.model_dump(mode="json")["reason"] == "timeout"
    again = ToolCallResult.model_validate(result.model_dump(mode="json"))  # how a remote result arrives
    assert again.reason is Reason.TIMEOUT and again.error_type == "Timeout"


@pytest.mark.parametrize(("error_type", "reason", "expected"), [
    ("NotFound", None, NotFound),
    ("InvalidInput", None, InvalidInput),
    ("SandboxUnavailable", Reason.SANDBOX_UNAVAILABLE, SandboxUnavailable),
    ("Timeout", None, ToolCallTimeout),
    ("ValueError", Reason.ERROR, ToolRaised),  # the tool's own exception
    ("ValueError", Reason.OK, ToolRaised),
    ("ProtocolError", Reason.OK, ToolRunFailed),  # no readable result line
    ("timeout", Reason.TIMEOUT, ToolRunFailed),  # cut short
    ("killed_oom", Reason.KILLED_OOM, ToolRunFailed),
    ("output_truncated", Reason.OUTPUT_TRUNCATED, ToolRunFailed),
    ("sandbox_crashed", Reason.SANDBOX_CRASHED, ToolRunFailed),
    ("WorkerError", None, ToolRunFailed),
])
def test_each_failure_is_its_error(error_type: str, reason: Reason | None, expected: type[Exception]) -> None:
    result = ToolCallResult(tool="divide", version=1, ok=False, error="what went wrong", error_type=error_type,
                            reason=reason)
    error = result.exception()
    assert type(error) is expected and str(error) == "what went wrong" and error.detail is None
