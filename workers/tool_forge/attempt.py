"""One attempt: BRICK answers, the code is checked, its tests run in the sandbox.

``make_attempt`` returns the ``Attempt`` record (outcome ``passed``, ``refused``,
``tests_failed`` or ``llm_error``, with a reason fit to feed back) and, when it passed, the
``CheckedTool`` to register. The code is only ever text here: it runs in the sandbox, as
``/app/main.py`` so that its ``if __name__ == "__main__":`` tests execute there.
``LLMUnreachable`` and ``SandboxUnavailable`` propagate: they are nobody's fault in the code,
so they do not use up an attempt.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from shared.errors import LLMBadAnswer, SandboxUnavailable
from shared.llm import ChatBackend
from shared.sandbox import Reason, Sandbox, SandboxResult
from shared.tools import CheckedTool, CodeRejected, ToolSpec, check_tool_code, extract_code
from shared.tools.jobs import Attempt


@dataclass(frozen=True)
class AttemptLimits:
    allowed_imports: tuple[str, ...]
    test_timeout_s: float | None
    code_chars: int
    output_chars: int


def tail(text: str, chars: int) -> str:
    text = text.strip()
    return text if len(text) <= chars else "..." + text[-chars:]


def test_output(run: SandboxResult, chars: int) -> str:
    parts = [f"[stdout]\n{run.stdout.strip()}" if run.stdout.strip() else "",
             f"[stderr]\n{run.stderr.strip()}" if run.stderr.strip() else ""]
    return tail("\n".join(p for p in parts if p), chars)


def failure_reason(run: SandboxResult, chars: int) -> str:
    """Why the tests did not pass, with the output BRICK needs to fix them."""
    if run.reason is Reason.ERROR:
        head = f"the tests failed in the sandbox (exit code {run.exit_code})"
    else:
        head = f"the tests did not complete in the sandbox ({run.reason.value}: {run.message})"
    output = tail(run.stderr, chars) or tail(run.stdout, chars)
    return f"{head}:\n{output}" if output else head


async def make_attempt(number: int, llm: ChatBackend, model: str, messages: list[dict[str, Any]],
                       spec: ToolSpec, sandbox: Sandbox, limits: AttemptLimits,
                       ) -> tuple[Attempt, CheckedTool | None]:
    """Run attempt ``number`` with the conversation so far."""
    started = time.perf_counter()

    def record(outcome: str, reason: str = "", code: str = "", output: str = "") -> Attempt:
        return Attempt(number=number, outcome=outcome, reason=reason, model=model, code=code[: limits.code_chars],
                       test_output=output, duration_s=round(time.perf_counter() - started, 6))

    try:
        reply = await llm.chat(model, messages)
    except LLMBadAnswer as exc:
        return record("llm_error", f"no usable answer: {exc}"), None
    code = extract_code(reply.content)
    if len(code) > limits.code_chars:
        return record("refused", f"the module is {len(code)} characters; keep it under {limits.code_chars}"), None
    try:
        checked = check_tool_code(code, limits.allowed_imports, expected_name=spec.name)
    except CodeRejected as exc:
        return record("refused", f"refused before running: {exc}", code), None
    run = await sandbox.arun(code, timeout_s=limits.test_timeout_s)
    if run.reason is Reason.SANDBOX_UNAVAILABLE:
        raise SandboxUnavailable(run.message)
    output = test_output(run, limits.output_chars)
    if not run.ok:
        return record("tests_failed", failure_reason(run, limits.output_chars), code, output), None
    return record("passed", "", code, output), checked
