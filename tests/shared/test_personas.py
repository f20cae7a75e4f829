from __future__ import annotations

import pytest

from shared.errors import Conflict, NotFound
from shared.personas import PersonaRegistry
from shared.settings import BaseServiceSettings


async def test_defaults_swap_and_rollback(redis, settings: BaseServiceSettings) -> None:
    registry = PersonaRegistry.from_settings(redis, settings)
    assert await registry.current_model("BRICK") == settings.brick_ollama_model
    assert registry.persona("brick").hf_base == settings.brick_hf_base  # not the Ollama tag
    previous = await registry.swap("BRICK", "brick-ft-v1")
    assert previous == settings.brick_ollama_model
    # another process sees it at once: a fresh registry on the same Redis
    other = PersonaRegistry.from_settings(redis, settings)
    assert await other.current_model("BRICK") == "brick-ft-v1"
    assert (await other.state("BRICK")).previous_model == settings.brick_ollama_model
    assert await registry.rollback("BRICK") == (settings.brick_ollama_model, "brick-ft-v1")
    assert await registry.current_model("BRICK") == settings.brick_ollama_model


async def test_swap_with_stale_expectation_is_refused(redis, settings: BaseServiceSettings) -> None:
    registry = PersonaRegistry.from_settings(redis, settings)
    await registry.swap("ROBIN", "robin-2")
    with pytest.raises(Conflict, match="swap refused"):
        await registry.swap("ROBIN", "robin-3", expected_current=settings.robin_ollama_model)
    assert await registry.current_model("ROBIN") == "robin-2"


async def test_unknown_persona_and_no_rollback(redis, settings: BaseServiceSettings) -> None:
    registry = PersonaRegistry.from_settings(redis, settings)
    with pytest.raises(NotFound):
        registry.persona("JOKER")
    with pytest.raises(Conflict, match="no previous"):
        await registry.rollback("ALFRED")
