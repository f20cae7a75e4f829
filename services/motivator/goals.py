"""The goals the motivator sets itself, as task texts with their idempotency keys.

The key names what caused the goal, not the event that carried it: an inquiry is keyed on the
dissonant task, a curiosity task on the tool version, a proactive task on the idle period (the
last-activity time it was idle since). So a redelivered event, a re-published one, or three
replicas seeing the same idle period all create one task.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.events.payloads import HighCognitiveDissonance, ToolCreated

MAX_QUOTED_CHARS = 2_000


@dataclass(frozen=True)
class Goal:
    kind: str  # inquiry | curiosity | proactive
    text: str
    key: str
    caused_by: str | None = None
    inquiry: bool = False
    depth: int = 0


def inquiry(event_id: str, payload: HighCognitiveDissonance) -> Goal:
    quoted = payload.task[:MAX_QUOTED_CHARS]
    text = (f"High dissonance ({payload.score:.2f}) was detected regarding task: '{quoted}'. "
            "Initiate a philosophical inquiry to determine if a codex amendment is necessary.")
    return Goal("inquiry", text, key=f"dissonance:{payload.task_id}", caused_by=event_id, inquiry=True,
                depth=payload.depth + 1)


def curiosity(event_id: str, payload: ToolCreated) -> Goal:
    text = (f"A new tool '{payload.tool_name}' (version {payload.version}) was created. "
            "Formulate a novel problem that can be solved by combining it with existing tools.")
    return Goal("curiosity", text, key=f"tool:{payload.tool_name}:{payload.version}", caused_by=event_id)


# The seed's one proactive goal, then questions that vary what the personas practise on (an
# idle system otherwise answers the same text again and again: nothing new to curate).
PROACTIVE_GOALS: tuple[str, ...] = (
    "Review recent system activities and propose one area for self-improvement.",
    "Explain one principle of clear reasoning and give an example of applying it.",
    "What makes an answer helpful? Give three concrete qualities and why each matters.",
    "Describe how to check a calculation for mistakes, step by step.",
    "Explain the difference between a fact and an opinion, with one example of each.",
    "How should an assistant respond when it does not know the answer? Explain briefly.",
    "Summarise how to break a large problem into smaller steps.",
    "Explain why the sky appears blue in simple terms.",
    "Give a short, practical tip for learning a new skill and explain why it works.",
    "What is a good way to compare two solutions to the same problem?",
)


def proactive(idle_since: str, number: int = 0) -> Goal:
    """The ``number``-th proactive goal (0: the seed's); keyed on the idle period it ends."""
    return Goal("proactive", PROACTIVE_GOALS[number % len(PROACTIVE_GOALS)], key=f"idle:{idle_since}")
