"""Assertions shared by the training tests."""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path
from typing import Any

PROMPT = "Why is the sky blue?"


def logits_change(base_model: Path, adapter_dir: Path) -> float:
    """Largest absolute change of the output logits once the adapter is applied (peft, fp32)."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_model)
    inputs = tokenizer(PROMPT, return_tensors="pt")
    model = AutoModelForCausalLM.from_pretrained(base_model, dtype=torch.float32).eval()
    with torch.no_grad():
        before = model(**inputs).logits.clone()
        with warnings.catch_warnings():  # peft reads a property transformers 5.2x deprecates
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            tuned = PeftModel.from_pretrained(model, str(adapter_dir)).eval()
        after = tuned(**inputs).logits
    return float((after - before).abs().max())


def run_cli(
    python: str, env: dict[str, str], cwd: Path, *args: str, timeout: float = 110
) -> tuple[int, list[dict[str, Any]], str]:
    """Run train_cli; return its exit status, its JSON lines, and its stderr."""
    proc = subprocess.run(
        [python, "-m", "workers.fine_tune.train_cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return (
        proc.returncode,
        [json.loads(line) for line in proc.stdout.splitlines() if line.strip()],
        proc.stderr,
    )
