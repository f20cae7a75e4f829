"""JSON for arq's job and result payloads: queued data must be data, never pickled code.

A job function's exception is stored as ``"ExcType: message"`` (JSON cannot carry the object).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_serializer(obj: Any) -> bytes:
    """arq ``job_serializer``."""
    return json.dumps(obj, default=_default, separators=(",", ":")).encode()


def json_deserializer(raw: bytes) -> Any:
    """arq ``job_deserializer``."""
    return json.loads(raw)
