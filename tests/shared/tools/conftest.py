"""Shared tool fixtures: the real sandbox (session-wide) and tool modules as BRICK writes them."""

from __future__ import annotations

import pytest

from shared.sandbox import Sandbox
from tests.support.sandbox import real_sandbox


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    return real_sandbox()
