"""The local LLM server as its own process, and LoRA adapters made for the tests.

The model folder is prepared once into ``var/data/models`` (the same place ``make run`` uses),
so only the first run on a machine pays the ~30 s GGUF conversion.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import ollama

from tests.support.local_model import local_model_dir
from tests.support.processes import ServiceProcess
from tests.support.redis_server import free_port

BASE_TAG = "smollm2:135m"


def model_dir() -> Path:
    return local_model_dir()


def data_dir_sharing_models(data_dir: Path) -> Path:
    """A data dir of its own whose ``models/`` is the prepared one: the default model resolution, no copy."""
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "models").symlink_to(model_dir().parent, target_is_directory=True)
    return data_dir


class LocalServer:
    """``python -m services.local_llm`` on a free port with its own data dir."""

    def __init__(self, data_dir: Path, model: Path | str | None, **settings: object):
        """``model`` None: the default folder under ``data_dir`` (prepared from the bundled GGUF)."""
        self.port = free_port()
        self.data_dir = data_dir
        env = {"BATOS_DATA_DIR": str(data_dir), "BATOS_LOCAL_LLM_PORT": str(self.port), "BATOS_ENVIRONMENT": "test"}
        if model is not None:
            env["BATOS_LOCAL_MODEL_DIR"] = str(model)
        env.update({f"BATOS_{k.upper()}": str(v) for k, v in settings.items()})
        self.process = ServiceProcess("services.local_llm", env, name=f"local-llm-{self.port}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait_loaded: bool = True) -> LocalServer:
        self.process.start()
        self.wait_answering()
        if wait_loaded:
            self.wait_loaded()
        return self

    def wait_answering(self, within_s: float = 30.0) -> None:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/version", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if not self.process.alive():
                raise RuntimeError(f"server exited:\n{self.process.output()[-3000:]}")
            time.sleep(0.05)
        raise TimeoutError(f"server never answered:\n{self.process.output()[-3000:]}")

    def wait_loaded(self, within_s: float = 180.0) -> None:
        self.process.wait_for_output('"model_loaded"', timeout=within_s)

    def stop(self) -> None:
        self.process.stop()


def make_lora(base: Path, out: Path, seed: int = 0, rank: int = 8) -> Path:
    """A LoRA adapter over ``base`` with random (non-zero) weights, as peft saves it."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_pretrained(base)
        config = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=["q_proj", "v_proj"],
                            init_lora_weights=False, task_type="CAUSAL_LM")
        get_peft_model(model, config).save_pretrained(out)
    return out


def make_foreign_lora(out: Path) -> Path:
    """A LoRA adapter of a different (tiny) Llama: it does not fit the served base."""
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LlamaForCausalLM(LlamaConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                             num_key_value_heads=4, intermediate_size=128, vocab_size=512))
        config = LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False, task_type="CAUSAL_LM")
        get_peft_model(model, config).save_pretrained(out)
    return out


async def upload_adapter(client: ollama.AsyncClient, folder: Path) -> dict[str, str]:
    """Upload an adapter's two files as blobs; the ``adapters=`` mapping for ``create``."""
    return {name: await client.create_blob(folder / name)
            for name in ("adapter_config.json", "adapter_model.safetensors")}


@asynccontextmanager
async def ollama_client(url: str) -> AsyncIterator[ollama.AsyncClient]:
    """The official client, closed afterwards."""
    client = ollama.AsyncClient(host=url, timeout=300)
    try:
        yield client
    finally:
        await client._client.aclose()
