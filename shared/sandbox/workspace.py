"""The run folder: the program and its files, written on the host and mounted read-only at /app.

Beside ``app/`` it holds an empty ``resolv.conf`` mounted over the engine's copy of the host's
(which would tell the sandbox the host's DNS server address). Everything is private: folders
0700, files 0600, owned by the container's user (``owner``, when this process is root) or by
this process's user (then the container runs as this user): no other local user can read a
run's code or stdin. Names are checked beforehand by ``limits.check_request``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

PREFIX = "batos-sandbox-"
MAIN = "main.py"
STDIN = ".batos_stdin"
MOUNT = "/app"
DIR_MODE = 0o700
FILE_MODE = 0o600


class Workspace:
    """A private temporary folder for one run, removed on ``close``."""

    def __init__(
        self, parent: str | None = None, host_parent: str | None = None, owner: tuple[int, int] | None = None
    ) -> None:
        if parent:
            os.makedirs(parent, exist_ok=True)
        self.owner = owner
        self.root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))  # 0700
        self._own(self.root, DIR_MODE)
        self.path = self.root / "app"
        self._mkdir(self.path)
        self._write_file(self.root / "resolv.conf", b"")
        # The same folder as the Docker engine sees it (differs when this process is in a container).
        host_root = Path(host_parent) / self.root.name if host_parent else self.root
        self.host_path = str(host_root / "app")
        self.host_resolv_conf = str(host_root / "resolv.conf")

    def _own(self, path: Path, mode: int) -> None:
        os.chmod(path, mode)
        if self.owner is not None:
            os.chown(path, *self.owner)

    def _mkdir(self, path: Path) -> None:
        if not path.is_dir():
            path.mkdir(mode=DIR_MODE)
            self._own(path, DIR_MODE)

    def _write_file(self, path: Path, data: bytes) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)  # whatever the umask
            if self.owner is not None:
                os.fchown(fd, *self.owner)
            with os.fdopen(fd, "wb", closefd=False) as f:
                f.write(data)
        finally:
            os.close(fd)

    def write(self, name: str, content: str) -> None:
        """Write one file; ``name`` is relative and may not climb out of the folder."""
        rel = PurePosixPath(name)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise ValueError(f"bad sandbox file name {name!r}")
        target = self.path.joinpath(*rel.parts)
        for parent in reversed(target.relative_to(self.path).parents[:-1]):
            self._mkdir(self.path / parent)
        self._write_file(target, content.encode("utf-8"))

    def populate(self, code: str, files: Mapping[str, str] | None, stdin: str | None) -> None:
        """Write the program as main.py, the extra files, and stdin when given."""
        for name, content in (files or {}).items():
            if PurePosixPath(name) in (PurePosixPath(MAIN), PurePosixPath(STDIN)):
                raise ValueError(f"{name!r} is reserved in the sandbox folder")
            self.write(name, content)
        self.write(MAIN, code)
        if stdin is not None:
            self.write(STDIN, stdin)

    def close(self) -> None:
        """Remove the folder and everything in it."""
        shutil.rmtree(self.root, ignore_errors=True)


def reap_folders(parent: str | None, max_age_s: float) -> int:
    """Remove run folders older than ``max_age_s`` (left by a worker that died mid-run)."""
    base = parent or tempfile.gettempdir()
    removed = 0
    try:
        entries = list(os.scandir(base))
    except OSError:
        return 0
    now = time.time()
    for entry in entries:
        try:
            old = now - entry.stat(follow_symlinks=False).st_mtime >= max_age_s
            if entry.name.startswith(PREFIX) and entry.is_dir(follow_symlinks=False) and old:
                shutil.rmtree(entry.path, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed
