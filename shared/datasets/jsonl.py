"""Crash-safe JSONL: whole-line appends, a reader that never returns half a line, tail repair.

A line is written with one ``write`` on an ``O_APPEND`` descriptor and is data only once its
``\\n`` is on disk: a process killed mid-write (or a full disk) can leave a torn last line, which
:func:`read_records` skips and :func:`repair_tail` cuts off before the next append. A failed
write truncates the file back to where it was. Callers serialise appenders (``layout.lock``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO


def append_line(path: Path, record: dict[str, Any], *, fsync: bool = True) -> int:
    """Append ``record`` as one line; returns the file's size after it."""
    data = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        before = os.fstat(fd).st_size
        try:
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(f"short write to {path}: {written} of {len(data)} bytes")
            if fsync:
                os.fsync(fd)
        except BaseException:
            os.ftruncate(fd, before)
            raise
        return before + len(data)
    finally:
        os.close(fd)


def repair_tail(path: Path) -> int:
    """Cut a torn last line (no newline: its writer died); returns the bytes removed."""
    if not path.exists():
        return 0
    with path.open("rb+") as f:
        size = f.seek(0, os.SEEK_END)
        keep = _end_of_last_line(f, size)
        if keep == size:
            return 0
        f.truncate(keep)
        f.flush()
        os.fsync(f.fileno())
        return size - keep


def _end_of_last_line(f: BinaryIO, size: int) -> int:
    """Offset just past the file's last newline (0 if it has none)."""
    pos = size
    while pos > 0:
        step = min(65536, pos)
        f.seek(pos - step)
        at = f.read(step).rfind(b"\n")
        if at >= 0:
            return pos - step + at + 1
        pos -= step
    return 0


def read_records(path: Path, start: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(end_offset, record)`` for each complete, parseable line from byte ``start``.

    A torn last line and lines that are not JSON objects are skipped, never returned.
    """
    if not path.exists():
        return
    with path.open("rb") as f:
        f.seek(start)
        offset = start
        for raw in f:
            offset += len(raw)
            if not raw.endswith(b"\n"):
                return  # torn tail: not data
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield offset, record
