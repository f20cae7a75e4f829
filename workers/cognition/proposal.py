"""A philosophical inquiry's product: ALFRED drafts a codex amendment, stored as pending.

The draft is structured output; ALFRED may decide no amendment is needed. A draft is only
ever *proposed* (``CodexStore.propose``); a human applies it through the API.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from shared.errors import LLMBadAnswer
from shared.llm import ChatBackend, persona_context, system_and_user
from shared.llm.client import parse_structured
from shared.personas import PersonaRegistry
from shared.stores.codex import Codex, CodexProposal, CodexStore, proposal_id_for
from shared.stores.tasks import TaskRecord


class CodexDraft(BaseModel):
    amend: bool = Field(description="true if the codex should change")
    title: str = Field(default="", max_length=80, description="a short title for the new principle")
    amendment: str = Field(default="", max_length=500, description="the text of the new principle")
    rationale: str = Field(default="", max_length=300, description="why the inquiry calls for it")


def draft_prompt(codex: Codex, inquiry: str, conclusion: str) -> str:
    return (f"The codex (version {codex.version}):\n{codex.text}\n\nA philosophical inquiry:\n{inquiry}\n\n"
            f"Its conclusion:\n{conclusion}\n\n"
            "Should the codex gain a principle because of this? Answer in JSON: "
            '{"amend": true|false, "title": "...", "amendment": "...", "rationale": "..."}')


async def propose_amendment(llm: ChatBackend, personas: PersonaRegistry, codex_store: CodexStore,
                            task: TaskRecord, conclusion: str) -> CodexProposal | None:
    """Draft with ALFRED and store a pending proposal; ``None`` if ALFRED sees no need.

    ``LLMBadAnswer`` if the draft is not valid JSON or claims an amendment without text.
    """
    codex = await codex_store.get()
    model = await personas.current_model("ALFRED")
    prompt = draft_prompt(codex, task.text, conclusion)
    messages = system_and_user(personas.persona("ALFRED").system_prompt, prompt)
    with persona_context("ALFRED"):
        reply = await llm.chat(model, messages, format=CodexDraft.model_json_schema())
    draft = parse_structured(reply.content, CodexDraft)
    if not draft.amend:
        return None
    if not draft.title.strip() or not draft.amendment.strip():
        raise LLMBadAnswer("ALFRED proposed an amendment without a title or text")
    proposal = CodexProposal(id=proposal_id_for(task.id), task_id=task.id, caused_by=task.caused_by,
                             title=draft.title.strip(), amendment=draft.amendment.strip(),
                             rationale=draft.rationale.strip(), based_on_version=codex.version)
    stored, _created = await codex_store.propose(proposal)
    return stored
