"""Training throughput of the fine-tune backends on the tiny offline Llama (not a test).

    .venv/bin/python bench/bench_training.py [--steps 30] [--hidden 64] [--seq 256] [--no-unsloth]

Builds the tiny random Llama and a sealed dataset (tests/workers/fine_tune/tiny_model.py), then
runs ``train_adapter`` with the hf backend in this process and, when ``.venv-unsloth`` exists, the
unsloth backend through ``workers.fine_tune.train_cli`` in that venv. Prints one JSON line per
backend: tokens/s over the optimisation loop (``train_s``), and the whole call's wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.workers.fine_tune.tiny_model import build_tiny_llama, write_dataset  # noqa: E402
from workers.fine_tune.train_types import TrainConfig  # noqa: E402
from workers.fine_tune.training import train_adapter  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--no-unsloth", action="store_true")
    args = parser.parse_args()
    fields = {"max_steps": args.steps, "max_seq_length": args.seq}  # seed batch 2 x accumulation 4

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model = build_tiny_llama(work / "model", hidden_size=args.hidden, layers=args.layers)
        dataset = write_dataset(work / "ds-v1", train_rows=64)

        started = time.monotonic()
        result = train_adapter(str(model), dataset, work / "hf", TrainConfig(backend="hf", **fields))
        report("hf", result.to_json(), time.monotonic() - started, args)

        python = ROOT / ".venv-unsloth" / "bin" / "python"
        if args.no_unsloth or not python.exists():
            return
        started = time.monotonic()
        proc = subprocess.run(
            [str(python), "-m", "workers.fine_tune.train_cli", "--base-model", str(model),
             "--dataset-dir", str(dataset), "--output-dir", str(work / "unsloth"),
             "--config", json.dumps({"backend": "unsloth", **fields})],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, check=True,
        )  # fmt: skip
        result_line = json.loads(proc.stdout.splitlines()[-1])["result"]
        report("unsloth (own process, CPU fallback)", result_line, time.monotonic() - started, args)


def report(name: str, result: dict[str, object], wall_s: float, args: argparse.Namespace) -> None:
    keys = ("steps", "train_tokens", "train_s", "tokens_per_s", "duration_s", "final_loss")
    row = {
        "backend": name,
        "hidden": args.hidden,
        "layers": args.layers,
        "seq": args.seq,
        **{k: result[k] for k in keys},
    }
    print(json.dumps({**row, "wall_s": round(wall_s, 2)}), flush=True)


if __name__ == "__main__":
    main()
