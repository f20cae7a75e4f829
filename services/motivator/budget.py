"""The hourly cap on motivator-created tasks, shared by every replica.

One counter per clock hour (``motivator_hourly_count``), reserved atomically before a task is
created and given back if the task turned out to exist already. A refused reservation keeps
counting, so the first refusal of an hour is recognisable (``over_by == 1``): that one is
announced with an event, every one is logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from shared.keys import motivator_hourly_count

# KEYS: counter. ARGV: cap, ttl
_RESERVE = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return n
"""


@dataclass(frozen=True)
class Reservation:
    hour: int
    count: int
    cap: int

    @property
    def granted(self) -> bool:
        return self.count <= self.cap

    @property
    def over_by(self) -> int:
        return max(0, self.count - self.cap)


class HourlyBudget:
    def __init__(self, redis: Redis, cap: int, clock: Callable[[], float] = time.time):
        self._redis = redis
        self._cap = cap
        self._clock = clock
        self._reserve = redis.register_script(_RESERVE)

    def hour(self) -> int:
        return int(self._clock() // 3600)

    async def reserve(self) -> Reservation:
        hour = self.hour()
        count = await self._reserve(keys=[motivator_hourly_count(hour)], args=[self._cap, 2 * 3600])
        return Reservation(hour, int(count), self._cap)

    async def release(self, reservation: Reservation) -> None:
        if reservation.granted:
            await self._redis.decr(motivator_hourly_count(reservation.hour))
