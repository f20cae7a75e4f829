"""What model-setup does: plan from the persona settings, then pull, create and pre-fetch.

Everything talking to the network is passed in (an ``ollama.Client``-like object, a
``snapshot_download``-like function), so the plan and the error messages are tested offline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from shared.personas import PERSONA_NAMES
from shared.settings import LOCAL_HF_BASE, BaseServiceSettings

log = structlog.get_logger(__name__)

# What the fine-tune worker reads from a Hub repository (no other weight formats, no GGUF copies).
HF_ALLOW_PATTERNS = ("*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "tokenizer*")


class SetupError(RuntimeError):
    """A model could not be made available; the message says which setting to change."""


@dataclass(frozen=True)
class HfBase:
    """One Hugging Face base: a Hub repository id, or a local folder (``local`` / a path)."""

    value: str
    personas: tuple[str, ...]
    settings_names: tuple[str, ...]

    @property
    def is_local(self) -> bool:
        return self.value.startswith(("/", "./", "~")) or Path(self.value).is_absolute()


@dataclass
class Plan:
    """The distinct models the personas need."""

    ollama_bases: list[str] = field(default_factory=list)
    # tag -> the base it is created from (only tags that differ from their base)
    ollama_tags: dict[str, str] = field(default_factory=dict)
    hf_bases: list[HfBase] = field(default_factory=list)


def plan_from_settings(settings: BaseServiceSettings) -> Plan:
    plan = Plan()
    hf: dict[str, tuple[list[str], list[str]]] = {}
    for name in PERSONA_NAMES:
        low = name.lower()
        base = getattr(settings, f"{low}_ollama_base")
        model = getattr(settings, f"{low}_ollama_model")
        if base not in plan.ollama_bases:
            plan.ollama_bases.append(base)
        if model != base:
            if plan.ollama_tags.get(model, base) != base:
                raise SetupError(
                    f"BATOS_{name}_OLLAMA_MODEL={model} is created from two different bases "
                    f"({plan.ollama_tags[model]} and {base}): give each persona's tag one base"
                )
            plan.ollama_tags[model] = base
        configured = getattr(settings, f"{low}_hf_base")
        resolved = settings.hf_base(configured)
        setting = f"BATOS_{name}_HF_BASE" + ("/BATOS_LOCAL_MODEL_DIR" if configured == LOCAL_HF_BASE else "")
        personas, names = hf.setdefault(resolved, ([], []))
        personas.append(name)
        names.append(setting)
    plan.hf_bases = [HfBase(value, tuple(p), tuple(n)) for value, (p, n) in hf.items()]
    return plan


def wait_for_ollama(client: Any, host: str, wait_s: float, sleep: Callable[[float], None] = time.sleep) -> None:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            client.list()
            return
        except Exception as exc:  # ConnectionError, httpx errors: the server is not up yet
            if time.monotonic() >= deadline:
                raise SetupError(
                    f"no Ollama server answers at {host} (BATOS_OLLAMA_HOST) after {wait_s:.0f} s: {exc}"
                ) from exc
            sleep(2.0)


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def installed_models(client: Any) -> set[str]:
    listed = client.list()
    names: set[str] = set()
    for m in _field(listed, "models") or []:
        for key in ("model", "name"):
            value = _field(m, key)
            if value:
                names.add(value)
                if ":" not in value:
                    names.add(f"{value}:latest")
    return names


def pull(client: Any, model: str, step_pct: int = 10) -> None:
    """Pull ``model`` with a log line per ``step_pct`` percent of each layer and per status change."""
    started = time.monotonic()
    log.info("model_pull_started", model=model)
    last_status: str | None = None
    last_pct: dict[str, int] = {}
    try:
        for part in client.pull(model, stream=True):
            status = _field(part, "status") or ""
            digest = _field(part, "digest") or ""
            total, completed = _field(part, "total"), _field(part, "completed")
            if total and completed is not None:
                pct = int(100 * completed / total)
                if pct - last_pct.get(digest, -step_pct) >= step_pct or (pct == 100 and last_pct.get(digest) != 100):
                    last_pct[digest] = pct
                    log.info("model_pull_progress", model=model, layer=digest[:19], pct=pct,
                             mb=round(completed / 1e6, 1), total_mb=round(total / 1e6, 1))
            elif status != last_status:
                log.info("model_pull_status", model=model, status=status)
            last_status = status
    except Exception as exc:
        raise SetupError(
            f"pulling the Ollama model {model!r} failed: {exc}. Check the name (the personas' "
            "BATOS_<PERSONA>_OLLAMA_BASE settings) and that the ollama service can reach its registry"
        ) from exc
    log.info("model_pull_done", model=model, elapsed_s=round(time.monotonic() - started, 1))


def ensure_ollama_models(client: Any, plan: Plan, step_pct: int = 10) -> list[str]:
    """Pull missing bases and create missing tags; returns what was pulled or created."""
    have = installed_models(client)
    done: list[str] = []
    for base in plan.ollama_bases:
        if base in have or f"{base}:latest" in have:
            log.info("model_present", model=base)
            continue
        pull(client, base, step_pct)
        done.append(base)
    for tag, base in plan.ollama_tags.items():
        if tag in have:
            log.info("model_present", model=tag)
            continue
        log.info("model_create", model=tag, base=base)
        try:
            client.create(model=tag, from_=base, stream=False)
        except Exception as exc:
            raise SetupError(f"creating the Ollama tag {tag!r} from {base!r} failed: {exc}") from exc
        done.append(tag)
    return done


def offline_hint(base: HfBase) -> str:
    return (
        f"{', '.join(base.personas)} fine-tune from {base.value!r} ({' / '.join(base.settings_names)}). "
        f"Without Hub access, point {base.settings_names[0].split('/')[0]} at a local Hugging Face model folder "
        f"(or set it to 'local' and BATOS_LOCAL_MODEL_DIR=/path/to/folder), or set "
        f"BATOS_MODEL_SETUP_FETCH_HF=false to skip the pre-fetch"
    )


def ensure_hf_bases(
    plan: Plan, download: Callable[..., str], cache_dir: str | None = None, offline: bool = False
) -> dict[str, str]:
    """Pre-fetch every Hub base into the HF cache; check every local one. Returns value -> folder."""
    folders: dict[str, str] = {}
    for base in plan.hf_bases:
        if base.is_local:
            folder = Path(base.value).expanduser()
            if not (folder / "config.json").is_file():
                raise SetupError(f"the local model folder {folder} has no config.json. {offline_hint(base)}")
            log.info("hf_base_local", folder=str(folder), personas=list(base.personas))
            folders[base.value] = str(folder)
            continue
        started = time.monotonic()
        log.info("hf_base_fetch_started", repo=base.value, personas=list(base.personas), offline=offline)
        try:
            folders[base.value] = download(
                repo_id=base.value, allow_patterns=list(HF_ALLOW_PATTERNS), cache_dir=cache_dir,
                local_files_only=offline,
            )
        except Exception as exc:
            why = "HF_HUB_OFFLINE is set and it is not in the cache" if offline else f"{type(exc).__name__}: {exc}"
            raise SetupError(f"cannot fetch the Hugging Face base {base.value!r}: {why}. {offline_hint(base)}") from exc
        log.info("hf_base_fetch_done", repo=base.value, folder=folders[base.value],
                 elapsed_s=round(time.monotonic() - started, 1))
    return folders


def run_local(settings: BaseServiceSettings, threads: int = 2) -> Path:
    """The CPU variant: the local model folder from the bundled GGUF (idempotent)."""
    from services.local_llm.prepare import ensure_model_folder
    from services.local_llm.settings import LocalLLMSettings

    local = LocalLLMSettings()
    folder = local.model_path()
    if not local.uses_bundled_model():
        if not (folder / "config.json").is_file():
            raise SetupError(
                f"BATOS_LOCAL_MODEL_DIR={folder} has no config.json: point it at a Hugging Face model folder"
            )
        log.info("model_prepare_skipped", reason="BATOS_LOCAL_MODEL_DIR is set", folder=str(folder))
        return folder
    return ensure_model_folder(folder, threads=threads)


def bases_summary(names: Iterable[str]) -> str:
    return ", ".join(sorted(set(names))) or "nothing"
