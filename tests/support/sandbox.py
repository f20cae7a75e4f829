"""The real gVisor sandbox for tests outside ``tests/shared/sandbox``: fails, never skips, without it."""

from __future__ import annotations

import pytest

from shared.sandbox import Sandbox, SandboxSettings

UNREACHABLE_DOCKER = "tcp://127.0.0.1:9"  # nothing listens: every run is ``sandbox_unavailable``


def real_sandbox(**overrides: object) -> Sandbox:
    """A sandbox with the default hardening; ``pytest.fail`` when Docker, runsc or the image is missing."""
    box = Sandbox(SandboxSettings(**{"sandbox_timeout_s": 5.0, **overrides}))  # type: ignore[arg-type]
    problem = box.probe()
    if problem:
        pytest.fail(f"sandbox not available ({problem}); on a CI machine run "
                    "`BATOS_CI_MACHINE=1 bash scripts/docker_up.sh`", pytrace=False)
    return box


def unreachable_sandbox() -> Sandbox:
    """A sandbox whose Docker engine never answers (proves a path never runs code)."""
    return Sandbox(SandboxSettings(sandbox_docker_base_url=UNREACHABLE_DOCKER, sandbox_docker_timeout_s=2.0))
