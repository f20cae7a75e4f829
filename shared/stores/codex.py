"""The codex (the personas' guiding principles) and the amendments proposed to it.

The codex is one hash (``CODEX``: text, version, updated_at), seeded from ``deploy/codex.md``
the first time anyone reads it. Philosophical inquiries propose amendments; a proposal is
stored *pending* and is never applied by the machine: only :meth:`CodexStore.decide`, called
by a human through the API, applies one. Approval appends the amendment as a new section and
bumps the version in the same Lua call that checks the proposal is still pending, so two
reviewers racing cannot apply it twice. A proposal's id is derived from the task that made it,
so a retried job proposes once. A proposal whose text (title and amendment, normalised: case,
punctuation and spacing ignored) repeats a pending or rejected one is merged into it (its
``repeats`` count grows, the repeating task is kept in ``repeated_by``) instead of filed again.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from shared.errors import Conflict, NotFound
from shared.keys import CODEX, CODEX_PROPOSAL_TEXTS, CODEX_PROPOSALS, codex_proposal_key
from shared.redis_values import as_text

DEFAULT_CODEX_PATH = Path(__file__).resolve().parents[2] / "deploy" / "codex.md"


class ProposalStatus(StrEnum):
    """A proposal is pending until a human approves or rejects it."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Codex(BaseModel):
    """The guiding principles the personas live by, as one Markdown text, and its version."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "text": "# The codex\n\n1. Be truthful: say what you do not know.\n2. Be kind.\n",
        "version": 3, "updated_at": 1767225600.0}]})

    text: str = Field(description="the codex, in Markdown")
    version: int = Field(description="1 for the seed; each approved amendment adds one")
    updated_at: float = Field(description="Unix time (s) of the last change")


class CodexProposal(BaseModel):
    """A proposed amendment, as stored and as served by the API."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "cp-0f3c9a1e8b7d4c2a9e6f5b4a3c2d1e0f", "task_id": "0f3c9a1e8b7d4c2a9e6f5b4a3c2d1e0f", "caused_by": None,
        "title": "Name the uncertainty", "amendment": "When unsure, say how unsure, and why.",
        "rationale": "BRICK and ROBIN disagreed on a question neither could settle.", "based_on_version": 3,
        "status": "pending", "created_at": 1767225600.0, "decided_at": None, "note": None,
        "applied_version": None, "repeats": 0, "repeated_by": []}]})

    id: str = Field(description="the proposal's id")
    task_id: str = Field(description="the task whose answer led to it")
    caused_by: str | None = Field(default=None, description="id of the event that led to it")
    title: str = Field(min_length=1, description="the amendment in a few words")
    amendment: str = Field(min_length=1, description="the text to add to the codex")
    rationale: str = Field(default="", description="why the system proposes it")
    based_on_version: int = Field(description="the codex version it was drafted against")
    status: ProposalStatus = Field(default=ProposalStatus.PENDING, description="pending, approved or rejected")
    created_at: float = Field(default_factory=time.time, description="Unix time (s) it was proposed")
    decided_at: float | None = Field(default=None, description="Unix time (s) a human decided")
    note: str | None = Field(default=None, description="the decider's note")
    applied_version: int | None = Field(default=None, description="the codex version approving it made")
    repeats: int = Field(default=0, description="later proposals of the same text merged into this one")
    repeated_by: list[str] = Field(default_factory=list, description="the tasks that repeated it (newest 20)")

    def to_hash(self) -> dict[str, str]:
        return {k: json.dumps(v) if isinstance(v, list) else str(v)
                for k, v in self.model_dump(mode="json").items() if v is not None}

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes]) -> CodexProposal:
        fields: dict[str, object] = {k.decode(): v.decode() for k, v in raw.items()}
        fields["repeated_by"] = json.loads(str(fields.get("repeated_by") or "[]"))
        return cls.model_validate(fields)


def text_fingerprint(title: str, amendment: str) -> str:
    """What makes two proposals the same: their words, ignoring case, punctuation and spacing."""
    words = " ".join(re.findall(r"\w+", f"{title}\n{amendment}".lower()))
    return hashlib.sha256(words.encode()).hexdigest()[:32]


def proposal_id_for(task_id: str) -> str:
    return f"cp-{task_id}"


# KEYS: codex. ARGV: seed text, now
_SEED = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'text', ARGV[1], 'version', 1, 'updated_at', ARGV[2])
end
return redis.call('HMGET', KEYS[1], 'text', 'version', 'updated_at')
"""

# KEYS: proposal, index, text index. ARGV: id, created_at, fingerprint, proposal key prefix,
# repeating task id, field/value pairs. Returns {1, id} created, {0, id} exists, {2, other id} merged.
_PROPOSE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, ARGV[1]} end
local same = redis.call('HGET', KEYS[3], ARGV[3])
if same then
  local other = ARGV[4] .. same
  local status = redis.call('HGET', other, 'status')
  if status == 'pending' or status == 'rejected' then
    redis.call('HINCRBY', other, 'repeats', 1)
    local by = cjson.decode(redis.call('HGET', other, 'repeated_by') or '[]')
    table.insert(by, ARGV[5])
    while #by > 20 do table.remove(by, 1) end
    redis.call('HSET', other, 'repeated_by', cjson.encode(by))
    return {2, same}
  end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[1])
return {1, ARGV[1]}
"""

# KEYS: proposal, codex. ARGV: approve (1/0), now, note, seed text
_DECIDE = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {0, 'missing'} end
if status ~= 'pending' then return {0, status} end
if ARGV[1] == '0' then
  redis.call('HSET', KEYS[1], 'status', 'rejected', 'decided_at', ARGV[2], 'note', ARGV[3])
  return {1, 'rejected'}
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('HSET', KEYS[2], 'text', ARGV[4], 'version', 1, 'updated_at', ARGV[2])
end
local version = tonumber(redis.call('HGET', KEYS[2], 'version')) + 1
local p = redis.call('HMGET', KEYS[1], 'title', 'amendment')
local text = redis.call('HGET', KEYS[2], 'text')
text = text .. '\\n\\n## Amendment ' .. version .. ': ' .. p[1] .. '\\n\\n' .. p[2] .. '\\n'
redis.call('HSET', KEYS[2], 'text', text, 'version', version, 'updated_at', ARGV[2])
redis.call('HSET', KEYS[1], 'status', 'approved', 'decided_at', ARGV[2], 'note', ARGV[3],
           'applied_version', version)
return {1, 'approved'}
"""


class CodexStore:
    """Read the codex; store, list and decide amendment proposals."""

    def __init__(self, redis: Redis, seed_path: Path = DEFAULT_CODEX_PATH):
        self._redis = redis
        self._seed_path = seed_path
        self._seed = redis.register_script(_SEED)
        self._propose = redis.register_script(_PROPOSE)
        self._decide = redis.register_script(_DECIDE)

    def _seed_text(self) -> str:
        try:
            return self._seed_path.read_text(encoding="utf-8").strip() + "\n"
        except OSError as exc:
            raise NotFound(f"the codex is not in Redis and its seed file cannot be read: {exc}") from exc

    async def get(self) -> Codex:
        """The current codex, seeding it from the file on first use."""
        raw = await self._redis.hmget(CODEX, ["text", "version", "updated_at"])
        if raw[0] is None:
            raw = await self._seed(keys=[CODEX], args=[self._seed_text(), time.time()])
        text, version, updated_at = (v.decode() if isinstance(v, bytes) else v for v in raw)
        return Codex(text=text, version=int(version), updated_at=float(updated_at))

    async def propose(self, proposal: CodexProposal) -> tuple[CodexProposal, bool]:
        """Store a pending proposal; returns the stored one and whether this call created it.

        Returns the existing proposal (not created) for a repeated id, or for a repeated text
        of a pending or rejected proposal, which it is merged into.
        """
        pending = proposal.model_copy(update={"status": ProposalStatus.PENDING, "decided_at": None,
                                              "note": None, "applied_version": None, "repeats": 0,
                                              "repeated_by": []})
        flat = [part for pair in pending.to_hash().items() for part in pair]
        fingerprint = text_fingerprint(pending.title, pending.amendment)
        outcome, stored_id = await self._propose(
            keys=[codex_proposal_key(pending.id), CODEX_PROPOSALS, CODEX_PROPOSAL_TEXTS],
            args=[pending.id, pending.created_at, fingerprint, codex_proposal_key(""), pending.task_id, *flat])
        if int(outcome) == 1:
            return pending, True
        return await self.get_proposal(as_text(stored_id)), False

    async def get_proposal(self, proposal_id: str) -> CodexProposal:
        raw = await self._redis.hgetall(codex_proposal_key(proposal_id))
        if not raw:
            raise NotFound(f"codex proposal {proposal_id} not found")
        return CodexProposal.from_hash(raw)

    async def list_proposals(self, status: ProposalStatus | None = None, limit: int = 50,
                             offset: int = 0) -> list[CodexProposal]:
        """Newest first, optionally only those in one status."""
        ids = await self._redis.zrevrange(CODEX_PROPOSALS, 0, -1)
        found = []
        for raw_id in ids:
            try:
                proposal = await self.get_proposal(raw_id.decode())
            except NotFound:
                continue
            if status is None or proposal.status == status:
                found.append(proposal)
        return found[offset:offset + limit]

    async def decide(self, proposal_id: str, *, approve: bool, note: str = "") -> CodexProposal:
        """Approve (apply to the codex) or reject a pending proposal.

        ``NotFound`` for an unknown id, ``Conflict`` if it was already decided.
        """
        seed = (await self.get()).text if approve else ""  # seeds the codex before amending it
        done, status = await self._decide(keys=[codex_proposal_key(proposal_id), CODEX],
                                          args=["1" if approve else "0", time.time(), note, seed])
        status = as_text(status)
        if not done:
            if status == "missing":
                raise NotFound(f"codex proposal {proposal_id} not found")
            raise Conflict(f"codex proposal {proposal_id} is already {status}")
        return await self.get_proposal(proposal_id)
