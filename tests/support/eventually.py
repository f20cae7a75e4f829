"""Await a condition that only Redis (or another process) can make true, with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], within_s: float = 30.0, every: float = 0.01) -> T:
    """Return ``probe()``'s first truthy value; ``TimeoutError`` with the last one after ``within_s``."""
    deadline = time.monotonic() + within_s
    value = await probe()
    while not value:
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {within_s} s (last value: {value!r})")
        await asyncio.sleep(every)
        value = await probe()
    return value
