"""One real local LLM server for the whole session (loading costs seconds), and LoRA adapters."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import ollama
import pytest

from tests.services.local_llm.helpers import (
    LocalServer,
    data_dir_sharing_models,
    make_foreign_lora,
    make_lora,
    model_dir,
    ollama_client,
)


@pytest.fixture(scope="session")
def base_model_dir() -> Path:
    return model_dir()


@pytest.fixture(scope="session")
def llm_server(base_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """The default configuration: the bundled model's folder under the data dir (already prepared)."""
    server = LocalServer(data_dir_sharing_models(tmp_path_factory.mktemp("local-llm")), None).start()
    yield server
    server.stop()


@pytest.fixture
async def client(llm_server: LocalServer) -> AsyncIterator[ollama.AsyncClient]:
    async with ollama_client(llm_server.url) as client:
        yield client


@pytest.fixture(scope="session")
def lora_dir(base_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_lora(base_model_dir, tmp_path_factory.mktemp("lora") / "adapter", seed=7)


@pytest.fixture(scope="session")
def foreign_lora_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_foreign_lora(tmp_path_factory.mktemp("foreign") / "adapter")
