"""Sandbox settings: how untrusted code is confined (``BATOS_SANDBOX_*`` variables).

The defaults are the hardened configuration measured in ``../shared/FACTS.md``: gVisor
(``runsc``), 256 MiB with no extra swap, one CPU, 512 pids (gVisor itself crashes below
that), a 10 s wall clock and 64 KiB kept per output stream. ``runc`` (or any runtime other
than gVisor's) shares the host kernel and is refused unless ``BATOS_SANDBOX_ALLOW_RUNC=true``
says so explicitly.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from shared.settings import BaseServiceSettings

GVISOR_MIN_PIDS = 512


class SandboxSettings(BaseServiceSettings):
    """Limits and wiring of the tool sandbox."""

    sandbox_runtime: str = "runsc"
    sandbox_allow_runc: bool = False
    sandbox_image: str = "batos-sandbox:latest"
    sandbox_python: str = "python3"
    sandbox_memory: str = "256m"
    sandbox_nano_cpus: int = Field(default=1_000_000_000, gt=0)
    sandbox_pids_limit: int = Field(default=GVISOR_MIN_PIDS, gt=0)
    sandbox_tmpfs_size: str = "64m"
    sandbox_timeout_s: float = Field(default=10.0, gt=0)
    sandbox_output_cap_bytes: int = Field(default=64 * 1024, ge=1024)
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
            raise ValueError(f"sandbox_pids_limit must be >= {GVISOR_MIN_PIDS} under runsc (gVisor crashes)")
        if self.sandbox_host_workdir and not self.sandbox_workdir:
            raise ValueError("sandbox_host_workdir needs sandbox_workdir (the same folder seen locally)")
        return self
