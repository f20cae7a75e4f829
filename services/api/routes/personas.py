"""``/v1/personas``: who the personas are and which model each speaks through now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from services.api.deps import State
from services.api.responses import error
from shared.keys import EventType
from shared.personas import PersonaState

router = APIRouter(prefix="/v1/personas", tags=["personas"])


class PersonaOut(BaseModel):
    """A persona, the model it speaks through now, and the one a rollback would restore."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "name": "BRICK", "model": "batos-brick:20260101T120145-v000003", "previous_model": "llama3.2:3b",
        "updated_at": 1767268900.0, "default_model": "llama3.2:3b", "ollama_base": "llama3.2:3b",
        "hf_base": "unsloth/Llama-3.2-3B-Instruct", "system_prompt": "You are BRICK, ..."}]})

    name: str = Field(description="BRICK, ROBIN or ALFRED")
    model: str = Field(description="the Ollama tag it answers with now")
    previous_model: str | None = Field(description="the tag a rollback restores (none: nothing to roll back to)")
    updated_at: float | None = Field(description="Unix time (s) of the last swap or rollback (none: never)")
    default_model: str = Field(description="the tag it starts with")
    ollama_base: str = Field(description="the Ollama base its fine-tuned models are built on")
    hf_base: str = Field(description="the Hugging Face base its adapters are trained from")
    system_prompt: str = Field(description="who it is, as told to the model")


def _out(s: PersonaState) -> PersonaOut:
    return PersonaOut(name=s.persona.name, model=s.model, previous_model=s.previous_model, updated_at=s.updated_at,
                      default_model=s.persona.default_model, ollama_base=s.persona.ollama_base,
                      hf_base=s.persona.hf_base, system_prompt=s.persona.system_prompt)


@router.get("", response_model=list[PersonaOut], summary="List personas")
async def list_personas(state: State) -> list[PersonaOut]:
    """Each persona with the model it speaks through now (a fine-tune that passed the gate swaps it)."""
    return [_out(s) for s in await state.personas.all()]


@router.post("/{name}/rollback", response_model=PersonaOut, summary="Roll a persona back", responses={
    404: error(404, "no such persona"), 409: error(409, "nothing to roll back to")})
async def rollback_persona(
    name: Annotated[str, Path(description="the persona (any case)", examples=["BRICK"])], state: State,
) -> PersonaOut:
    """Restore the persona's previous model and publish ``model_rolled_back``; the persona as it is
    now (404 unknown persona, 409 nothing to roll back to)."""
    restored, replaced = await state.personas.rollback(name)
    persona = state.personas.persona(name).name
    await state.bus.publish(EventType.MODEL_ROLLED_BACK,
                            {"persona": persona, "restored_model_tag": restored, "replaced_model_tag": replaced})
    return _out(await state.personas.state(persona))
