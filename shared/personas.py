"""The persona registry: BRICK, ROBIN and ALFRED, and which Ollama model each speaks through.

A persona's system prompt and bases (the Ollama base an adapter is applied to, the Hugging Face
weights it is fine-tuned from) come from settings. Its *current* Ollama tag lives in Redis
(``persona_key``) so a swap made by the fine-tune worker is seen by every process on its next
call. A swap is one atomic update that keeps the previous tag for rollback.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis.asyncio import Redis

from shared.errors import Conflict, NotFound
from shared.keys import persona_key
from shared.redis_values import as_text
from shared.settings import BaseServiceSettings

PERSONA_NAMES = ("BRICK", "ROBIN", "ALFRED")

SYSTEM_PROMPTS = {
    "BRICK": (
        "You are BRICK, the logical core of BAT OS. Answer with rigorous, step-by-step reasoning. "
        "State assumptions, prefer precise facts over flourish, and say plainly when you do not know."
    ),
    "ROBIN": (
        "You are ROBIN, the synthesising heart of BAT OS. Read the task and BRICK's analysis, then "
        "give one clear, warm, complete answer that keeps what is sound in the logic and adds what "
        "it missed: context, intuition, the human side."
    ),
    "ALFRED": (
        "You are ALFRED, the steward and judge of BAT OS. You evaluate answers impartially and "
        "concisely, and you always answer in exactly the JSON format you are asked for."
    ),
}


@dataclass(frozen=True)
class Persona:
    name: str
    system_prompt: str
    default_model: str
    ollama_base: str
    hf_base: str


@dataclass(frozen=True)
class PersonaState:
    """A persona with its current model, as the registry holds it now."""

    persona: Persona
    model: str
    previous_model: str | None
    updated_at: float | None


def personas_from_settings(settings: BaseServiceSettings) -> dict[str, Persona]:
    def build(name: str) -> Persona:
        low = name.lower()
        return Persona(
            name=name,
            system_prompt=SYSTEM_PROMPTS[name],
            default_model=getattr(settings, f"{low}_ollama_model"),
            ollama_base=getattr(settings, f"{low}_ollama_base"),
            hf_base=settings.hf_base(getattr(settings, f"{low}_hf_base")),
        )

    return {name: build(name) for name in PERSONA_NAMES}


# KEYS: persona hash. ARGV: new model, expected current ('' = any), default model, now
_SWAP = """
local current = redis.call('HGET', KEYS[1], 'model')
if not current then current = ARGV[3] end
if ARGV[2] ~= '' and ARGV[2] ~= current then return {0, current} end
redis.call('HSET', KEYS[1], 'model', ARGV[1], 'previous', current, 'updated_at', ARGV[4])
return {1, current}
"""

# KEYS: persona hash. ARGV: now
_ROLLBACK = """
local previous = redis.call('HGET', KEYS[1], 'previous')
if not previous or previous == '' then return false end
local current = redis.call('HGET', KEYS[1], 'model')
redis.call('HSET', KEYS[1], 'model', previous, 'previous', current, 'updated_at', ARGV[1])
return {previous, current}
"""


class PersonaRegistry:
    """Read and atomically change which model each persona speaks through."""

    def __init__(self, redis: Redis, personas: dict[str, Persona]):
        self._redis = redis
        self._personas = personas
        self._swap = redis.register_script(_SWAP)
        self._rollback = redis.register_script(_ROLLBACK)

    @classmethod
    def from_settings(cls, redis: Redis, settings: BaseServiceSettings) -> PersonaRegistry:
        return cls(redis, personas_from_settings(settings))

    def persona(self, name: str) -> Persona:
        try:
            return self._personas[name.upper()]
        except KeyError:
            raise NotFound(f"no persona {name!r}; known: {', '.join(self._personas)}") from None

    async def current_model(self, name: str) -> str:
        """The Ollama tag to use for this persona's next call."""
        persona = self.persona(name)
        model = await self._redis.hget(persona_key(persona.name), "model")
        return model.decode() if model else persona.default_model

    async def state(self, name: str) -> PersonaState:
        persona = self.persona(name)
        raw = {k.decode(): v.decode() for k, v in (await self._redis.hgetall(persona_key(persona.name))).items()}
        return PersonaState(
            persona=persona,
            model=raw.get("model", persona.default_model),
            previous_model=raw.get("previous") or None,
            updated_at=float(raw["updated_at"]) if "updated_at" in raw else None,
        )

    async def all(self) -> list[PersonaState]:
        return [await self.state(name) for name in self._personas]

    async def swap(self, name: str, new_model: str, *, expected_current: str | None = None) -> str:
        """Make ``new_model`` current in one atomic step; returns the tag it replaced.

        With ``expected_current``, refuse (``Conflict``) if someone swapped meanwhile.
        """
        persona = self.persona(name)
        done, previous = await self._swap(
            keys=[persona_key(persona.name)],
            args=[new_model, expected_current or "", persona.default_model, time.time()],
        )
        previous = as_text(previous)
        if not done:
            raise Conflict(f"{persona.name} is on {previous}, not {expected_current}; swap refused")
        return previous

    async def rollback(self, name: str) -> tuple[str, str]:
        """Restore the previous tag; returns (restored, replaced). ``Conflict`` if none."""
        persona = self.persona(name)
        got = await self._rollback(keys=[persona_key(persona.name)], args=[time.time()])
        if not got:
            raise Conflict(f"{persona.name} has no previous model to roll back to")
        restored, replaced = (v.decode() for v in got)
        return restored, replaced
