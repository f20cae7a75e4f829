"""What BRICK is asked: the spec with the rules of a tool, then each failure fed back.

The conversation is rebuilt from the job record's attempts (each attempt's code as BRICK's
turn, its reason as the next user turn), so a job resumed after a crash or a retry carries
every earlier error forward exactly as an uninterrupted one would.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from shared.tools.jobs import Attempt, ToolSpec


def spec_prompt(spec: ToolSpec, allowed_imports: Iterable[str]) -> str:
    """The first user turn: the spec and the rules the code checks will enforce."""
    name = (f"named `{spec.name}`" if spec.name else "with a descriptive snake_case name")
    return (
        f"Write a Python tool for this spec:\n\"\"\"\n{spec.description.strip()}\n\"\"\"\n\n"
        "Rules:\n"
        f"- One module that defines exactly ONE public function, {name}.\n"
        "- Type hints on every parameter and on the return value; parameters and the return value "
        "must be JSON values (int, float, str, bool, None, list, dict).\n"
        "- A docstring: a first line saying what the tool does, then an Args: section.\n"
        "- Helper functions are allowed if their names start with an underscore.\n"
        f"- Import only these standard modules: {', '.join(sorted(allowed_imports))}.\n"
        "- No file, network, process or interpreter access (no eval/exec, no dunder attributes).\n"
        "- Unit tests as plain asserts under `if __name__ == \"__main__\":` that exercise the function; "
        "they must pass.\n\n"
        "Respond ONLY with the Python code inside a single ```python block."
    )


def feedback_prompt(attempt: Attempt) -> str:
    """The user turn after a failed attempt: its reason, and what to do."""
    return (f"Attempt {attempt.number} failed: {attempt.reason}\n\n"
            "Fix the problem and answer again with the whole corrected module in a single ```python block.")


def conversation(system_prompt: str, spec: ToolSpec, allowed_imports: Iterable[str],
                 attempts: Sequence[Attempt]) -> list[dict[str, Any]]:
    """The messages for the next attempt, given those already made."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": system_prompt},
                                      {"role": "user", "content": spec_prompt(spec, allowed_imports)}]
    for attempt in attempts:
        said = f"```python\n{attempt.code}\n```" if attempt.code else "(no usable answer)"
        messages.append({"role": "assistant", "content": said})
        messages.append({"role": "user", "content": feedback_prompt(attempt)})
    return messages
