"""What the LLM server reports while it pulls a model (``LLMClient.pull_model``)."""

from __future__ import annotations

from pydantic import BaseModel


class PullProgress(BaseModel):
    """One line of a pull's progress stream: a status (``pulling manifest``, ``pulling <digest>``,
    ``verifying sha256 digest``, ``success`` ...) and, while a layer downloads, its digest and the
    bytes done of its total."""

    status: str
    digest: str | None = None
    total: int | None = None
    completed: int | None = None
