"""Replicas of one service or worker, each its own process, killed with SIGKILL and replaced."""

from __future__ import annotations

import asyncio
import random
import time

from tests.support.processes import ServiceProcess

READY_LINES = {"workers.cognition": "worker starting", "workers.tool_forge": "worker starting",
               "services.curator": "curator ready", "services.motivator": "motivator ready",
               "services.api": "Application startup complete"}


class Replicas:
    """``count`` processes of ``module``; ``kill_one`` SIGKILLs a random one and starts its replacement."""

    def __init__(self, module: str, env: dict[str, str], count: int, name: str, seed: int = 7):
        self.module, self.env, self.count, self.name = module, env, count, name
        self.processes: list[ServiceProcess] = []
        self.kills: list[float] = []  # when each SIGKILL was sent (time.time())
        self.started = 0
        self._random = random.Random(seed)

    def _spawn(self) -> ServiceProcess:
        self.started += 1
        return ServiceProcess(self.module, self.env, name=f"{self.name}-{self.started}").start()

    async def start(self) -> None:
        self.processes = [self._spawn() for _ in range(self.count)]
        await asyncio.gather(*(self.ready(p) for p in self.processes))

    async def ready(self, process: ServiceProcess, within_s: float = 60.0) -> None:
        await asyncio.to_thread(process.wait_for_output, READY_LINES[self.module], within_s)

    async def kill_one(self) -> ServiceProcess:
        """SIGKILL a random replica, start its replacement at once (as a restart policy does)."""
        victim = self._random.choice(self.processes)
        victim.kill()
        self.kills.append(time.time())
        replacement = self._spawn()
        self.processes[self.processes.index(victim)] = replacement
        return replacement

    def all_alive(self) -> bool:
        return all(p.alive() for p in self.processes)

    def stop(self) -> list[int | None]:
        return [p.stop() for p in self.processes]

    def output(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.output()[-3000:]}" for p in self.processes)
