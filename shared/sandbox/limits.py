"""Checks on what a caller asks to run, before anything touches the disk or the engine.

Every bad argument is a ``ValueError`` with a message (a caller's bug, or hostile input passed
through): wrong types, text that cannot be UTF-8 encoded (lone surrogates), NUL bytes, file names
that are absolute, climb out, are too long, reserved or collide, and anything over the bounds of
``SandboxSettings`` (stdin, argv, files).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from shared.sandbox.settings import SandboxSettings
from shared.sandbox.workspace import MAIN, STDIN

MAX_NAME_BYTES = 1024  # a whole relative path
MAX_PART_BYTES = 255  # one component (the usual file system limit)


def _utf8(what: str, value: Any, *, nul_ok: bool = True) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be str, not {type(value).__name__}")
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{what} cannot be encoded as UTF-8 (lone surrogate at {exc.start})") from None
    if not nul_ok and b"\x00" in data:
        raise ValueError(f"{what} contains a NUL character")
    return data


def _check_name(name: Any) -> PurePosixPath:
    raw = _utf8("a file name", name, nul_ok=False)
    rel = PurePosixPath(name)
    if not name or rel.is_absolute() or ".." in rel.parts or not rel.parts or rel.parts == (".",):
        raise ValueError(f"bad sandbox file name {name!r}: relative, inside the folder")
    if len(raw) > MAX_NAME_BYTES or any(len(p.encode()) > MAX_PART_BYTES for p in rel.parts):
        raise ValueError(f"sandbox file name too long ({len(raw)} bytes): {name[:80]!r}...")
    if rel in (PurePosixPath(MAIN), PurePosixPath(STDIN)):
        raise ValueError(f"{name!r} is reserved in the sandbox folder")
    return rel


def _check_files(files: Any, s: SandboxSettings) -> int:
    if files is None:
        return 0
    if not isinstance(files, Mapping):
        raise ValueError(f"files must be a mapping of name to text, not {type(files).__name__}")
    if len(files) > s.sandbox_max_files:
        raise ValueError(f"{len(files)} files: at most {s.sandbox_max_files} (sandbox_max_files)")
    seen: set[PurePosixPath] = set()
    total = 0
    for name, content in files.items():
        rel = _check_name(name)
        if rel in seen:
            raise ValueError(f"file name {name!r} given twice")
        seen.add(rel)
        total += len(_utf8(f"the content of {name!r}", content))
    for rel in seen:  # "a" and "a/b": a file where a folder must be
        if any(parent in seen for parent in rel.parents):
            raise ValueError(f"file {str(rel)!r} is inside another file's name")
    return total


def check_request(
    s: SandboxSettings, code: Any, files: Any, args: Any, stdin: Any, timeout_s: Any
) -> float:
    """Raise ``ValueError`` for any bad argument of ``Sandbox.run``; the run's timeout."""
    total = len(_utf8("code", code)) + _check_files(files, s)
    if total > s.sandbox_max_files_bytes:
        raise ValueError(f"code and files are {total} bytes: at most {s.sandbox_max_files_bytes}")
    if isinstance(args, str | bytes) or not isinstance(args, Sequence):
        raise ValueError(f"args must be a sequence of str, not {type(args).__name__}")
    if len(args) > s.sandbox_max_args:
        raise ValueError(f"{len(args)} args: at most {s.sandbox_max_args} (sandbox_max_args)")
    argv_bytes = sum(len(_utf8(f"args[{i}]", a, nul_ok=False)) + 1 for i, a in enumerate(args))
    if argv_bytes > s.sandbox_max_args_bytes:
        raise ValueError(f"args are {argv_bytes} bytes: at most {s.sandbox_max_args_bytes} (sandbox_max_args_bytes)")
    if stdin is not None:
        size = len(_utf8("stdin", stdin))
        if size > s.sandbox_max_stdin_bytes:
            raise ValueError(f"stdin is {size} bytes: at most {s.sandbox_max_stdin_bytes} (sandbox_max_stdin_bytes)")
    timeout = s.sandbox_timeout_s if timeout_s is None else timeout_s
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not math.isfinite(timeout):
        raise ValueError(f"timeout_s must be a finite number of seconds, not {timeout_s!r}")
    if not 0 < timeout < s.sandbox_reap_after_s:
        raise ValueError(f"timeout_s must be > 0 and < sandbox_reap_after_s ({s.sandbox_reap_after_s:g})")
    return float(timeout)
