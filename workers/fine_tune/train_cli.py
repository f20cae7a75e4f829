"""Run ``train_adapter`` in its own process: ``python -m workers.fine_tune.train_cli ...``.

This is how the unsloth backend runs from a process that is not the Unsloth one (its venv,
``scripts/unsloth_venv.sh``, pins older transformers/trl), and a way to give training its own
process. stdout carries JSON lines only: ``{"progress": {...}}`` per step, then
``{"result": {...}}``, or ``{"error": ..., "kind": ...}`` with exit status 1. Logs go to stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

import structlog


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-model", required=True)
    parser.add_argument("--dataset-dir", type=Path, required=True)
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument("--config", default="{}", help="JSON object of TrainConfig fields")
    args = parser.parse_args(argv)
    # The JSON lines get the real stdout; anything else printing to fd 1 (unsloth's banner,
    # library prints) is sent to stderr so the protocol stays clean.
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    # Heavy imports happen inside train_adapter, after this point (unsloth first when chosen).
    from shared.errors import TrainingError
    from workers.fine_tune.train_types import TrainConfig, TrainProgress
    from workers.fine_tune.training import train_adapter

    fields = json.loads(args.config)
    if "target_modules" in fields:
        fields["target_modules"] = tuple(fields["target_modules"])
    config = TrainConfig(**fields)

    def emit(payload: dict[str, object]) -> None:
        protocol.write(json.dumps(payload) + "\n")

    def on_progress(progress: TrainProgress) -> None:
        emit({"progress": dataclasses.asdict(progress)})

    try:
        result = train_adapter(args.base_model, args.dataset_dir, args.output_dir, config, on_progress)
    except TrainingError as exc:
        emit({"error": str(exc), "kind": type(exc).__name__})
        return 1
    emit({"result": result.to_json()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
