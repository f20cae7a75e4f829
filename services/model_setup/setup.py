"""What model-setup does: plan from the persona settings, then pull, create and pre-fetch.

Everything talking to the network is passed in (a ``shared.llm.LLMClient``, a
``snapshot_download``-like function), so the plan and the error messages are tested offline
(against the Ollama-protocol test server and a fake download).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from shared.errors import LLMError
from shared.llm import LLMClient
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


async def wait_for_ollama(
    llm: LLMClient, wait_s: float, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
) -> None:
    """Until the server at ``llm.host`` lists its models, trying every 2 s for ``wait_s`` seconds."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            await llm.list_models()
            return
        except LLMError as exc:  # not up yet (refused, timed out) or not ready (an HTTP error)
            if time.monotonic() >= deadline:
                raise SetupError(
                    f"no Ollama server answers at {llm.host} (BATOS_OLLAMA_HOST) after {wait_s:.0f} s: {exc}"
                ) from exc
            await sleep(2.0)


async def installed_models(llm: LLMClient) -> set[str]:
    """The server's models, each also as ``name:latest`` when listed without a tag."""
    try:
        listed = await llm.list_models()
    except LLMError as exc:
        raise SetupError(f"listing the Ollama models at {llm.host} (BATOS_OLLAMA_HOST) failed: {exc}") from exc
    names = set(listed)
    names.update(f"{name}:latest" for name in listed if ":" not in name)
    return names


async def pull(llm: LLMClient, model: str, step_pct: int = 10) -> None:
    """Pull ``model`` with a log line per ``step_pct`` percent of each layer and per status change."""
    started = time.monotonic()
    log.info("model_pull_started", model=model)
    last_status: str | None = None
    last_pct: dict[str, int] = {}
    try:
        async for part in llm.pull_model(model):
            digest = part.digest or ""
            if part.total and part.completed is not None:
                pct = int(100 * part.completed / part.total)
                if pct - last_pct.get(digest, -step_pct) >= step_pct or (pct == 100 and last_pct.get(digest) != 100):
                    last_pct[digest] = pct
                    log.info("model_pull_progress", model=model, layer=digest[:19], pct=pct,
                             mb=round(part.completed / 1e6, 1), total_mb=round(part.total / 1e6, 1))
            elif part.status != last_status:
                log.info("model_pull_status", model=model, status=part.status)
            last_status = part.status
    except LLMError as exc:
        raise SetupError(
            f"pulling the Ollama model {model!r} failed: {exc}. Check the name (the personas' "
            "BATOS_<PERSONA>_OLLAMA_BASE settings) and that the ollama service can reach its registry"
        ) from exc
    log.info("model_pull_done", model=model, elapsed_s=round(time.monotonic() - started, 1))


async def ensure_ollama_models(llm: LLMClient, plan: Plan, step_pct: int = 10) -> list[str]:
    """Pull missing bases and create missing tags; returns what was pulled or created."""
    have = await installed_models(llm)
    done: list[str] = []
    for base in plan.ollama_bases:
        if base in have or f"{base}:latest" in have:
            log.info("model_present", model=base)
            continue
        await pull(llm, base, step_pct)
        done.append(base)
    for tag, base in plan.ollama_tags.items():
        if tag in have:
            log.info("model_present", model=tag)
            continue
        log.info("model_create", model=tag, base=base)
        try:
            await llm.create_model(tag, base)
        except LLMError as exc:
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


def run_local(settings: BaseServiceSettings) -> Path:
    """The CPU variant: the local model server's folder, made by its own ``prepare`` command (a
    process of its own: an app never imports another); idempotent. Its last line is the folder."""
    done = subprocess.run([sys.executable, "-m", "services.local_llm.prepare"], capture_output=True, text=True)
    sys.stderr.write(done.stderr)  # its log lines, as they would have been
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise SetupError(f"preparing the local model failed: {reason}")
    return Path(done.stdout.strip().splitlines()[-1])


def bases_summary(names: Iterable[str]) -> str:
    return ", ".join(sorted(set(names))) or "nothing"
