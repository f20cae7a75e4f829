"""Settings of the Docker guard (``BATOS_DOCKER_GUARD_*``, and the forge's ``BATOS_SANDBOX_*``).

The guard derives from ``SandboxSettings`` so that its policy reads the very values the forge's
``Sandbox`` sends: give both processes the same ``BATOS_SANDBOX_*`` environment (image, runtime,
memory, CPUs, pids, tmpfs size, uid/gid, workdir and host workdir, reap age).
"""

from __future__ import annotations

import tempfile
from pathlib import PurePosixPath

from pydantic import Field, field_validator

from shared.sandbox.settings import SandboxSettings


class DockerGuardSettings(SandboxSettings):
    service_name: str = "docker-guard"

    # Where the guard listens (the forge's BATOS_SANDBOX_DOCKER_BASE_URL is unix://<this>).
    docker_guard_socket: str = "/run/batos-guard/docker.sock"
    # The real engine; only unix:// sockets.
    docker_guard_upstream: str = "unix:///var/run/docker.sock"
    # The listening socket gets this group and mode: owner the guard (root), group the forge's gid
    # (1000 in compose), nobody else. -1: the guard's own group. Giving another group than the
    # guard's needs CAP_CHOWN; run the guard as user "0:1000" and it needs none.
    docker_guard_socket_gid: int = Field(default=1000, ge=-1)
    docker_guard_socket_mode: str = "0660"
    # Also refuse a create whose run folder (as this process sees it at the host path) holds a
    # symlink: needs the host workdir mounted into the guard at the same path (read-only).
    docker_guard_verify_run_folder: bool = False
    # Bounds of one request: the head, the body, and the time to send them.
    docker_guard_max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024)
    docker_guard_head_timeout_s: float = Field(default=30.0, gt=0)

    @field_validator("docker_guard_upstream")
    @classmethod
    def _unix_only(cls, value: str) -> str:
        if not value.startswith("unix://") or not value[len("unix://"):].startswith("/"):
            raise ValueError("docker_guard_upstream must be unix:///absolute/path")
        return value

    @field_validator("docker_guard_socket_mode")
    @classmethod
    def _octal_mode(cls, value: str) -> str:
        mode = int(value, 8)  # ValueError for anything but octal digits
        if mode & ~0o777 or mode & 0o111:
            raise ValueError("docker_guard_socket_mode must be rw bits only, e.g. 0660 or 0666")
        return value

    def upstream_path(self) -> str:
        return self.docker_guard_upstream[len("unix://"):]

    def socket_mode(self) -> int:
        return int(self.docker_guard_socket_mode, 8)

    def host_workdir(self) -> str:
        """The parent of the run folders as the engine sees it (what bind sources must be under).

        Same fallback as ``Workspace``: the host workdir, else the workdir, else the temp folder
        (set ``BATOS_SANDBOX_WORKDIR`` for both processes: their temp folders may differ).
        """
        folder = self.sandbox_host_workdir or self.sandbox_workdir or tempfile.gettempdir()
        return str(PurePosixPath(folder))
