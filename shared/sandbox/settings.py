"""Sandbox settings: how untrusted code is confined (``BATOS_SANDBOX_*`` variables).

The defaults are the hardened configuration: gVisor (``runsc``), 256 MiB with no extra swap, one
CPU, a 10 s wall clock and 64 KiB returned per output stream. The pids limit bounds the *host*
tasks of the sandbox (gVisor's own threads and stub processes), not the program's: at 512 gVisor
itself was seen to die (reported as ``sandbox_crashed``), at 2048 the same thread bomb ran to its
timeout; measured here, a fork bomb stops at ~70 processes and a thread bomb at ~6000 threads on
the 256 MiB memory limit while the sandbox holds ~140 host tasks. So 4096 by default, 2048 at
least under gVisor. What a caller may pass is bounded too (stdin, argv, files), and over a bound
``Sandbox.run`` raises ``ValueError`` before anything touches the disk or the engine. ``runc`` (or any runtime other
than gVisor's) shares the host kernel and is refused unless ``BATOS_SANDBOX_ALLOW_RUNC=true``
says so explicitly.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from shared.settings import BaseServiceSettings

GVISOR_MIN_PIDS = 2048
DEFAULT_PIDS = 4096
SANDBOX_UID = 64999  # Debian's reserved 60000-64999: no login account, below subuid ranges


class SandboxSettings(BaseServiceSettings):
    """Limits and wiring of the tool sandbox."""

    sandbox_runtime: str = "runsc"
    sandbox_allow_runc: bool = False
    sandbox_image: str = "batos-sandbox:latest"
    sandbox_python: str = "python3"
    sandbox_memory: str = "256m"
    sandbox_nano_cpus: int = Field(default=1_000_000_000, gt=0)
    sandbox_pids_limit: int = Field(default=DEFAULT_PIDS, gt=0)
    sandbox_tmpfs_size: str = "64m"
    sandbox_timeout_s: float = Field(default=10.0, gt=0)
    # UTF-8 bytes of the text returned per stream (after decoding and escaping).
    sandbox_output_cap_bytes: int = Field(default=64 * 1024, ge=1024)
    sandbox_max_stdin_bytes: int = Field(default=1024 * 1024, ge=0)
    sandbox_max_args: int = Field(default=1024, ge=0)
    sandbox_max_args_bytes: int = Field(default=64 * 1024, ge=0)  # UTF-8, one NUL each
    sandbox_max_files: int = Field(default=256, ge=0)
    sandbox_max_files_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)  # code + files
    # The container's user when the worker runs as root: the run folder (0700/0600) is chowned
    # to it, so it must be no host account (the image's 1000 often is the first login user). A
    # worker running as another user runs its containers as itself and chowns nothing.
    sandbox_uid: int = Field(default=SANDBOX_UID, gt=0)
    sandbox_gid: int = Field(default=SANDBOX_UID, gt=0)
    # None: DOCKER_HOST and friends from the environment, else the local socket.
    sandbox_docker_base_url: str | None = None
    sandbox_docker_timeout_s: float = Field(default=60.0, gt=0)
    # Where run folders are written, and the same folder as the Docker engine sees it (they
    # differ when the worker itself runs in a container and talks to the host's engine).
    sandbox_workdir: str | None = None
    sandbox_host_workdir: str | None = None
    # Any labelled container older than this is a leftover, whoever started it.
    sandbox_reap_after_s: float = Field(default=600.0, gt=0)

    @model_validator(mode="after")
    def _refuse_weak_isolation(self) -> SandboxSettings:
        if not self.sandbox_runtime.startswith("runsc") and not self.sandbox_allow_runc:
            raise ValueError(
                f"sandbox_runtime={self.sandbox_runtime} shares the host kernel; "
                "set sandbox_allow_runc=true to allow it"
            )
        if self.sandbox_runtime.startswith("runsc") and self.sandbox_pids_limit < GVISOR_MIN_PIDS:
            raise ValueError(
                f"sandbox_pids_limit must be >= {GVISOR_MIN_PIDS} under runsc (gVisor itself crashes at 512)"
            )
        if self.sandbox_host_workdir and not self.sandbox_workdir:
            raise ValueError("sandbox_host_workdir needs sandbox_workdir (the same folder seen locally)")
        return self
