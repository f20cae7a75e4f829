"""Settings of the tool-forge worker (``BATOS_FORGE_*``, plus ``BATOS_SANDBOX_*`` for the sandbox).

The seed allowed 3 attempts per spec; so does the default. The import allow-list is the
standard-library modules a pure computation needs: nothing that reaches files, processes,
the network or the interpreter's internals (the sandbox contains those anyway; refusing them
early gives BRICK a precise reason instead of a sandbox error).
"""

from __future__ import annotations

from pydantic import Field

from shared.sandbox import SandboxSettings

DEFAULT_ALLOWED_IMPORTS = (
    "math", "cmath", "statistics", "decimal", "fractions", "random", "re", "string", "textwrap",
    "unicodedata", "difflib", "json", "base64", "binascii", "hashlib", "hmac", "html", "itertools",
    "functools", "operator", "collections", "heapq", "bisect", "array", "copy", "dataclasses", "enum",
    "typing", "datetime", "calendar", "zoneinfo", "uuid", "unittest", "doctest",
)


class ToolForgeSettings(SandboxSettings):
    service_name: str = "tool_forge"
    # BRICK's answers per spec (the seed's max_retries=3), the error fed back after each failure.
    forge_max_attempts: int = Field(default=3, ge=1, le=20)
    # Top-level modules a tool may import (a JSON list in BATOS_FORGE_ALLOWED_IMPORTS).
    forge_allowed_imports: tuple[str, ...] = DEFAULT_ALLOWED_IMPORTS
    # Wall clock of one test run in the sandbox (None: the sandbox's own default).
    forge_test_timeout_s: float | None = Field(default=None, gt=0)
    # Tries of a job while Ollama or the sandbox is unreachable, and the back-off (times the try).
    forge_transient_tries: int = Field(default=3, ge=1)
    forge_retry_delay_s: float = Field(default=5.0, ge=0.0)
    forge_job_timeout_s: int = Field(default=900, ge=1)
    # Forge jobs and tool calls (``invoke_tool`` jobs) one worker process runs at once.
    forge_max_jobs: int = Field(default=2, ge=1)
    forge_max_invocations: int = Field(default=8, ge=1)
    # What of each attempt is kept in the job record.
    forge_code_chars: int = Field(default=20_000, ge=1_000)
    forge_output_chars: int = Field(default=4_000, ge=200)
