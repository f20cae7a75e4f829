"""Where dataset versions live on disk, how they are named, and the lock appenders share.

``<data_dir>/datasets/v000001/`` ... one directory per version; a directory without
``manifest.json`` is open (at most one: the newest). Appends and seals from every curator
process are serialised by an ``flock`` on ``<data_dir>/datasets/.lock``: the files are the
durable truth, so the lock lives with them (a shared volume on one host, as compose mounts it).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from shared.datasets.contract import MANIFEST_FILE

CREATED_FILE = ".created_at"
_VERSION = re.compile(r"^v(\d{6})$")


def datasets_root(data_dir: str | Path) -> Path:
    return Path(data_dir) / "datasets"


def version_name(number: int) -> str:
    return f"v{number:06d}"


def is_version(name: str) -> bool:
    return bool(_VERSION.match(name))


def versions_on_disk(root: Path) -> list[str]:
    """Every version directory, oldest first."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and is_version(p.name))


def is_sealed(root: Path, version: str) -> bool:
    return (root / version / MANIFEST_FILE).exists()


def next_version(root: Path) -> str:
    existing = versions_on_disk(root)
    return version_name(int(existing[-1][1:]) + 1 if existing else 1)


def create_version(root: Path, version: str, now: float) -> None:
    """Make the version's directory, recording when it was opened."""
    directory = root / version
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CREATED_FILE).write_text(repr(now))
    fsync_dir(root)


def created_at(root: Path, version: str) -> float:
    try:
        return float((root / version / CREATED_FILE).read_text())
    except (OSError, ValueError):
        return (root / version).stat().st_mtime


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DatasetLock:
    """Cross-process (``flock``) and in-process (``asyncio.Lock``) exclusion for writers."""

    def __init__(self, root: Path):
        self._path = root / ".lock"
        self._local = asyncio.Lock()

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        async with self._local:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing the descriptor releases the flock
