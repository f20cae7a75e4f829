from __future__ import annotations

import httpx

from shared.personas import PersonaRegistry
from shared.settings import BaseServiceSettings


async def test_personas_show_current_models(api: httpx.AsyncClient, redis, settings: BaseServiceSettings) -> None:
    await PersonaRegistry.from_settings(redis, settings).swap("ROBIN", "robin-ft-1")
    got = {p["name"]: p for p in (await api.get("/v1/personas")).json()}
    assert set(got) == {"BRICK", "ROBIN", "ALFRED"}
    assert got["ROBIN"]["model"] == "robin-ft-1"
    assert got["ROBIN"]["previous_model"] == settings.robin_ollama_model
    assert got["BRICK"]["hf_base"] == settings.brick_hf_base
