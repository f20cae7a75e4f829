"""The real training function on CPU with the hf backend, its failures, and its atomic output."""

from __future__ import annotations

import importlib.util
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared.errors import BackendUnavailableError, BaseModelError, DatasetError, OutputExistsError
from tests.workers.fine_tune.conftest import REPO_ROOT
from tests.workers.fine_tune.helpers import logits_change
from workers.fine_tune.train_types import ADAPTER_FILES, TrainConfig, TrainProgress, resolve_backend
from workers.fine_tune.training import train_adapter

pytestmark = pytest.mark.training

# The seed's hyper-parameters, shortened to seconds; a high rate so the change is unmistakable.
FAST = TrainConfig(
    backend="hf",
    max_steps=8,
    max_seq_length=128,
    gradient_accumulation_steps=1,
    warmup_steps=1,
    learning_rate=1e-2,
)


def _leftovers(output_dir: Path) -> list[Path]:
    return sorted(output_dir.parent.glob(f"*{output_dir.name}*")) if output_dir.parent.exists() else []


def test_hf_backend_trains_an_adapter_that_changes_the_model(
    tiny_model: Path, dataset_dir: Path, tmp_path: Path
) -> None:
    started = time.monotonic()
    seen: list[TrainProgress] = []
    output_dir = tmp_path / "adapters" / "brick-v1"

    result = train_adapter(str(tiny_model), dataset_dir, output_dir, FAST, on_progress=seen.append)

    assert result.backend == "hf" and result.adapter_dir == output_dir
    assert result.steps == FAST.max_steps
    for name in ADAPTER_FILES:
        assert (output_dir / name).is_file(), name
    config = json.loads((output_dir / "adapter_config.json").read_text())
    assert config["r"] == 16 and set(config["target_modules"]) == set(FAST.target_modules)
    assert json.loads((output_dir / "training_result.json").read_text())["steps"] == FAST.max_steps
    assert _leftovers(output_dir) == [output_dir]  # no partial or scratch directory beside it

    assert [p.step for p in seen] == list(range(1, FAST.max_steps + 1))
    assert all(p.max_steps == FAST.max_steps and p.loss is not None and p.loss > 0 for p in seen)
    assert seen[-1].eta_s == 0 and seen[1].learning_rate == pytest.approx(FAST.learning_rate)
    assert result.final_loss == seen[-1].loss and seen[-1].loss < seen[0].loss
    assert result.train_tokens > 0 and result.tokens_per_s > 0

    assert logits_change(tiny_model, output_dir) > 1e-3
    assert time.monotonic() - started < 240  # a sanity bound (it takes ~15 s); speed is in bench/bench_training.py


def test_a_failing_progress_callback_does_not_stop_training(
    tiny_model: Path, dataset_dir: Path, tmp_path: Path
) -> None:
    def broken(progress: TrainProgress) -> None:
        raise ConnectionError("redis is down")

    config = TrainConfig(backend="hf", max_steps=2, max_seq_length=64, gradient_accumulation_steps=1)
    result = train_adapter(str(tiny_model), dataset_dir, tmp_path / "out", config, on_progress=broken)
    assert result.steps == 2


def test_auto_picks_unsloth_only_with_cuda_and_the_choice_imports_no_torch() -> None:
    import torch

    expected = "unsloth" if torch.cuda.is_available() else "hf"
    assert resolve_backend("auto", has_cuda=lambda: True) == "unsloth"
    assert resolve_backend("auto", has_cuda=lambda: False) == "hf"
    if not torch.cuda.is_available():  # this machine and CI
        assert expected == "hf"
    assert resolve_backend("unsloth") == "unsloth" and resolve_backend("hf") == "hf"
    code = (  # the worker's way: a child looks for CUDA, torch is never imported here
        "import sys; sys.modules.update(torch=None)\n"
        "from workers.fine_tune.train_types import resolve_backend\n"
        "print(resolve_backend('auto'))\n"
    )
    chosen = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, timeout=300,
                            capture_output=True, text=True).stdout.split()
    assert chosen == [expected]


def test_missing_dataset_fails_clearly_and_leaves_nothing(tiny_model: Path, tmp_path: Path) -> None:
    output_dir = tmp_path / "adapters" / "brick-v9"
    with pytest.raises(DatasetError, match=r"no training file at .*brick-v9-missing/train\.jsonl"):
        train_adapter(str(tiny_model), tmp_path / "brick-v9-missing", output_dir, FAST)
    assert _leftovers(output_dir) == []


@pytest.mark.parametrize(
    ("line", "reason"),
    [("not json", "not a JSON object with 'messages'"), ('{"messages": []}', "'messages' must be a list")],
)
def test_malformed_dataset_fails_with_the_line(
    tiny_model: Path, dataset_dir: Path, tmp_path: Path, line: str, reason: str
) -> None:
    with (dataset_dir / "train.jsonl").open("a") as f:
        f.write(line + "\n")
    with pytest.raises(DatasetError, match=rf"train\.jsonl:25: {reason}"):
        train_adapter(str(tiny_model), dataset_dir, tmp_path / "out", FAST)
    assert not (tmp_path / "out").exists()


def test_broken_base_model_fails_clearly_and_leaves_nothing(dataset_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "not-a-model"
    broken.mkdir()
    output_dir = tmp_path / "adapters" / "brick-v1"
    with pytest.raises(BaseModelError, match="cannot load base model"):
        train_adapter(str(broken), dataset_dir, output_dir, FAST)
    assert _leftovers(output_dir) == []


def test_unsloth_where_it_is_not_installed_says_how_to_get_it(
    tiny_model: Path, dataset_dir: Path, tmp_path: Path
) -> None:
    if importlib.util.find_spec("unsloth") is not None:
        pytest.fail("unsloth must stay out of the main venv (it caps transformers/trl); see unsloth_venv.sh")
    output_dir = tmp_path / "out"
    with pytest.raises(BackendUnavailableError, match=r"scripts/unsloth_venv\.sh"):
        train_adapter(str(tiny_model), dataset_dir, output_dir, TrainConfig(backend="unsloth", max_steps=1))
    assert _leftovers(output_dir) == []


def test_an_existing_adapter_is_never_overwritten(
    tiny_model: Path, dataset_dir: Path, tmp_path: Path
) -> None:
    output_dir = tmp_path / "out"
    output_dir.mkdir()
    (output_dir / "adapter_config.json").write_text("{}")
    with pytest.raises(OutputExistsError):
        train_adapter(str(tiny_model), dataset_dir, output_dir, FAST)
    assert (output_dir / "adapter_config.json").read_text() == "{}"


def test_a_killed_training_leaves_no_adapter_and_can_be_rerun(
    tiny_model: Path, dataset_dir: Path, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    output_dir = tmp_path / "adapters" / "brick-v1"
    long_run = json.dumps({"backend": "hf", "max_steps": 100_000, "max_seq_length": 64})
    proc = subprocess.Popen(
        [sys.executable, "-m", "workers.fine_tune.train_cli", "--base-model", str(tiny_model),
         "--dataset-dir", str(dataset_dir), "--output-dir", str(output_dir), "--config", long_run],
        cwd=REPO_ROOT, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())  # blocks until a training step has run
        assert first["progress"]["step"] >= 1
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert not output_dir.exists()
    assert len(list(output_dir.parent.glob(f".{output_dir.name}.partial-*"))) == 1  # killed mid-way

    result = train_adapter(str(tiny_model), dataset_dir, output_dir, FAST)  # the job re-run
    assert result.steps == FAST.max_steps and (output_dir / "adapter_model.safetensors").is_file()
    assert _leftovers(output_dir) == [output_dir]


def test_the_package_imports_without_torch() -> None:
    code = (
        "import sys; sys.modules.update(torch=None, transformers=None, trl=None, peft=None, unsloth=None)\n"
        "import workers.fine_tune.training, workers.fine_tune.backends, workers.fine_tune.settings\n"
        "import workers.fine_tune.train_cli\n"
        "from workers.fine_tune.settings import FineTuneSettings; FineTuneSettings().to_train_config()\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, timeout=30)
