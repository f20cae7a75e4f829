"""The run folder: the program and its files, written on the host and mounted read-only at /app.

Beside ``app/`` it holds an empty ``resolv.conf`` mounted over the engine's copy of the host's
(which would tell the sandbox the host's DNS server address).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

MAIN = "main.py"
STDIN = ".batos_stdin"
MOUNT = "/app"


class Workspace:
    """A temporary folder readable by the sandbox user (uid 1000), removed on ``close``."""

    def __init__(self, parent: str | None = None, host_parent: str | None = None) -> None:
        if parent:
            os.makedirs(parent, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix="batos-sandbox-", dir=parent))
        os.chmod(self.root, 0o755)
        self.path = self.root / "app"
        self.path.mkdir(mode=0o755)
        os.chmod(self.path, 0o755)
        (self.root / "resolv.conf").write_text("")
        os.chmod(self.root / "resolv.conf", 0o644)
        # The same folder as the Docker engine sees it (differs when this process is in a container).
        host_root = Path(host_parent) / self.root.name if host_parent else self.root
        self.host_path = str(host_root / "app")
        self.host_resolv_conf = str(host_root / "resolv.conf")

    def write(self, name: str, content: str) -> None:
        """Write one file; ``name`` is relative and may not climb out of the folder."""
        rel = PurePosixPath(name)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise ValueError(f"bad sandbox file name {name!r}")
        target = self.path.joinpath(*rel.parts)
        for parent in reversed(target.relative_to(self.path).parents[:-1]):
            (self.path / parent).mkdir(mode=0o755, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        os.chmod(target, 0o644)

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
