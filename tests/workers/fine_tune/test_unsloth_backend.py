"""The unsloth backend, run for real through Unsloth's CPU fallback in its own venv.

Unsloth caps transformers/trl/datasets below the main venv's, so it lives in ``.venv-unsloth``
(``scripts/unsloth_venv.sh``, which CI runs first). A missing venv fails this test: it never skips.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.workers.fine_tune.conftest import REPO_ROOT
from tests.workers.fine_tune.helpers import logits_change, run_cli
from workers.fine_tune.settings import FineTuneSettings
from workers.fine_tune.train_types import ADAPTER_FILES

pytestmark = pytest.mark.training


def _unsloth_python() -> str:
    python = Path(FineTuneSettings().fine_tune_unsloth_python)
    python = python if python.is_absolute() else REPO_ROOT / python
    if not python.exists():
        pytest.fail(f"{python} is missing: build it with scripts/unsloth_venv.sh (CI runs it first)")
    return str(python)


def test_unsloth_backend_trains_on_cpu(
    tiny_model: Path, dataset_dir: Path, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    python = _unsloth_python()
    output_dir = tmp_path / "adapters" / "brick-v1"
    config = {"backend": "unsloth", "max_steps": 6, "max_seq_length": 128, "gradient_accumulation_steps": 1,
              "warmup_steps": 1, "learning_rate": 1e-2}  # fmt: skip

    status, lines, stderr = run_cli(python, cli_env, REPO_ROOT, "--base-model", str(tiny_model),
                                    "--dataset-dir", str(dataset_dir), "--output-dir", str(output_dir),
                                    "--config", json.dumps(config))  # fmt: skip

    assert status == 0, stderr[-3000:]
    assert "Unsloth" in stderr and "4-bit = True" in stderr  # really Unsloth's loader, 4-bit as in the seed
    progress = [line["progress"] for line in lines if "progress" in line]
    assert [p["step"] for p in progress] == list(range(1, 7)) and all(p["loss"] > 0 for p in progress)
    result = lines[-1]["result"]
    assert result["backend"] == "unsloth" and result["steps"] == 6 and result["train_tokens"] > 0
    for name in ADAPTER_FILES:
        assert (output_dir / name).is_file(), name
    # A standard peft adapter: the main venv's peft loads it onto the fp32 base and it changes the output.
    assert logits_change(tiny_model, output_dir) > 1e-3


def test_unsloth_backend_failure_is_reported_and_leaves_nothing(
    dataset_dir: Path, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    python = _unsloth_python()
    output_dir = tmp_path / "out"
    status, lines, _ = run_cli(python, cli_env, REPO_ROOT, "--base-model", str(tmp_path / "no-such-model"),
                               "--dataset-dir", str(dataset_dir), "--output-dir", str(output_dir),
                               "--config", '{"backend": "unsloth", "max_steps": 1}')  # fmt: skip
    assert status == 1
    assert lines[-1]["kind"] == "BaseModelError" and "no-such-model" in lines[-1]["error"]
    assert not output_dir.exists() and list(tmp_path.glob(".out.partial-*")) == []
