from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.workers.fine_tune.fixtures import *  # noqa: F403 - the worker tests' fixtures
from tests.workers.fine_tune.tiny_model import build_tiny_llama, write_dataset

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer Llama (hidden 64) and its locally trained tokenizer, as an HF model dir."""
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture
def dataset_dir(tmp_path: Path) -> Path:
    """A sealed dataset version in step 4's contract format."""
    return write_dataset(tmp_path / "datasets" / "brick-v1")


@pytest.fixture
def cli_env() -> dict[str, str]:
    """Environment for ``python -m workers.fine_tune.train_cli`` in another interpreter."""
    path = os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path.rstrip(os.pathsep)}


def pytest_report_header() -> str:
    return f"fine-tune tests: main interpreter {sys.executable}"
