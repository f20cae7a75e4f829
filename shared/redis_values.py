"""Values as Redis returns them: bytes (a pool without ``decode_responses``) or already text."""

from __future__ import annotations

from typing import Any


def as_text(raw: Any) -> str:
    """A key, member, id or value from Redis as ``str``."""
    return raw.decode() if isinstance(raw, bytes) else str(raw)
