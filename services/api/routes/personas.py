"""``/v1/personas``: who the personas are and which model each speaks through now."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from services.api.deps import State

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


@router.get("", response_model=list[PersonaOut])
async def list_personas(state: State) -> list[PersonaOut]:
    return [
        PersonaOut(name=s.persona.name, model=s.model, previous_model=s.previous_model, updated_at=s.updated_at,
                   default_model=s.persona.default_model, ollama_base=s.persona.ollama_base,
                   hf_base=s.persona.hf_base, system_prompt=s.persona.system_prompt)
        for s in await state.personas.all()
    ]
