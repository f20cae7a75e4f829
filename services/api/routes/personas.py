"""``/v1/personas``: who the personas are and which model each speaks through now."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from services.api.deps import State
from services.api.responses import errors
from shared.keys import EventType
from shared.personas import PersonaState

router = APIRouter(prefix="/v1/personas", tags=["personas"])


class PersonaOut(BaseModel):
    name: str
    model: str
    previous_model: str | None
    updated_at: float | None
    default_model: str
    ollama_base: str
    hf_base: str
    system_prompt: str


def _out(s: PersonaState) -> PersonaOut:
    return PersonaOut(name=s.persona.name, model=s.model, previous_model=s.previous_model, updated_at=s.updated_at,
                      default_model=s.persona.default_model, ollama_base=s.persona.ollama_base,
                      hf_base=s.persona.hf_base, system_prompt=s.persona.system_prompt)


@router.get("", response_model=list[PersonaOut])
async def list_personas(state: State) -> list[PersonaOut]:
    return [_out(s) for s in await state.personas.all()]


@router.post("/{name}/rollback", response_model=PersonaOut, responses=errors(404, 409))
async def rollback_persona(name: str, state: State) -> PersonaOut:
    """Restore the persona's previous model (404 unknown persona, 409 nothing to roll back to)."""
    restored, replaced = await state.personas.rollback(name)
    persona = state.personas.persona(name).name
    await state.bus.publish(EventType.MODEL_ROLLED_BACK,
                            {"persona": persona, "restored_model_tag": restored, "replaced_model_tag": replaced})
    return _out(await state.personas.state(persona))
