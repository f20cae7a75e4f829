"""What one sandbox run produced.

Success is decided by the exit code (and nothing cut short), never by stderr being empty:
a program may warn on stderr and still succeed, and one may fail silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Reason(StrEnum):
    """Why a run ended the way it did."""

    OK = "ok"
    ERROR = "error"  # the program exited non-zero by itself
    TIMEOUT = "timeout"  # killed from outside at the wall-clock limit
    KILLED_OOM = "killed_oom"  # SIGKILLed by the engine: the memory limit (exit 137)
    OUTPUT_TRUNCATED = "output_truncated"  # wrote more than the cap: killed, output cut
    SANDBOX_UNAVAILABLE = "sandbox_unavailable"  # Docker, the runtime or the image is missing
    SANDBOX_CRASHED = "sandbox_crashed"  # the runtime (gVisor) died under the program, e.g. pids


@dataclass(frozen=True, slots=True)
class SandboxResult:
    """Exit code (None when the program never ran), captured output and the reason."""

    exit_code: int | None
    stdout: str
    stderr: str
    duration_s: float
    reason: Reason
    message: str = ""

    @property
    def ok(self) -> bool:
        """The program exited 0 by itself with its output whole."""
        return self.reason is Reason.OK and self.exit_code == 0

    @classmethod
    def unavailable(cls, message: str, duration_s: float = 0.0) -> SandboxResult:
        """A run that could not happen: no engine, no runtime, no image."""
        return cls(None, "", "", duration_s, Reason.SANDBOX_UNAVAILABLE, message)


def classify(exit_code: int, *, timed_out: bool, truncated: bool, program_ended: bool = True) -> Reason:
    """The reason for a finished run; our own kills take precedence over the exit code.

    ``program_ended``: the watchdog reported the program's end; without that report a run that
    was not SIGKILLed ended because the runtime itself died (``SANDBOX_CRASHED``).
    """
    if timed_out:
        return Reason.TIMEOUT
    if truncated:
        return Reason.OUTPUT_TRUNCATED
    if exit_code == 137:
        return Reason.KILLED_OOM
    if not program_ended:
        return Reason.SANDBOX_CRASHED
    return Reason.OK if exit_code == 0 else Reason.ERROR
