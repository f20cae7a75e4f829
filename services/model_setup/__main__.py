"""``python -m services.model_setup``: make the personas' models available, then exit (0 = ready)."""

from __future__ import annotations

import asyncio
import os
import sys
import time

import structlog

from services.model_setup.settings import ModelSetupSettings
from services.model_setup.setup import (
    Plan,
    SetupError,
    bases_summary,
    ensure_hf_bases,
    ensure_ollama_models,
    plan_from_settings,
    run_local,
    wait_for_ollama,
)
from shared.llm import LLMClient
from shared.logs import configure_logging

log = structlog.get_logger("services.model_setup")


async def ollama_models(settings: ModelSetupSettings, plan: Plan) -> list[str]:
    """Wait for the Ollama server, then pull and create what the plan names; what was pulled or created."""
    # No time limit on an answer: a pull is silent while the server verifies gigabytes of weights.
    llm = LLMClient(settings.ollama_host, timeout_s=None)
    try:
        await wait_for_ollama(llm, settings.model_setup_ollama_wait_s)
        return await ensure_ollama_models(llm, plan, settings.model_setup_progress_step_pct)
    finally:
        await llm.aclose()


def main() -> int:
    settings = ModelSetupSettings()
    configure_logging(settings.log_level, settings.log_json, settings.service_name)
    started = time.monotonic()
    try:
        if settings.model_setup_mode == "local":
            folder = run_local(settings)
            log.info("model_setup_done", mode="local", folder=str(folder),
                     elapsed_s=round(time.monotonic() - started, 1))
            return 0
        plan = plan_from_settings(settings)
        made = asyncio.run(ollama_models(settings, plan))
        folders: dict[str, str] = {}
        if settings.model_setup_fetch_hf:
            from huggingface_hub import snapshot_download

            offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
            folders = ensure_hf_bases(plan, snapshot_download, offline=offline)
        log.info("model_setup_done", mode="ollama", pulled_or_created=bases_summary(made),
                 hf_bases=sorted(folders), elapsed_s=round(time.monotonic() - started, 1))
        return 0
    except SetupError as exc:
        log.error("model_setup_failed", error=str(exc))
        print(f"model-setup: {exc}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
