"""SandboxSettings refuses weak isolation unless told to."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.sandbox import SandboxSettings
from shared.sandbox.settings import GVISOR_MIN_PIDS


def test_defaults_are_the_hardened_ones() -> None:
    s = SandboxSettings()
    assert s.sandbox_runtime == "runsc" and s.sandbox_pids_limit >= 2048
    assert s.sandbox_memory == "256m" and s.sandbox_timeout_s == 10


def test_runc_needs_explicit_permission() -> None:
    with pytest.raises(ValidationError, match="allow_runc"):
        SandboxSettings(sandbox_runtime="runc")
    with pytest.raises(ValidationError, match="allow_runc"):
        SandboxSettings(sandbox_runtime="crun")
    assert SandboxSettings(sandbox_runtime="runc", sandbox_allow_runc=True).sandbox_runtime == "runc"


def test_gvisor_pids_floor() -> None:
    assert SandboxSettings().sandbox_pids_limit >= GVISOR_MIN_PIDS >= 2048
    with pytest.raises(ValidationError, match=str(GVISOR_MIN_PIDS)):
        SandboxSettings(sandbox_pids_limit=512)
    assert SandboxSettings(sandbox_runtime="runc", sandbox_allow_runc=True, sandbox_pids_limit=128)


def test_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATOS_SANDBOX_TIMEOUT_S", "2.5")
    monkeypatch.setenv("BATOS_SANDBOX_RUNTIME", "runc")
    with pytest.raises(ValidationError):
        SandboxSettings()
    monkeypatch.setenv("BATOS_SANDBOX_ALLOW_RUNC", "true")
    assert SandboxSettings().sandbox_timeout_s == 2.5
