"""A writer process killed with SIGKILL, again and again, mid-stream of appends."""

from __future__ import annotations

import json
import random

from shared.datasets import list_versions
from shared.datasets.layout import datasets_root
from tests.services.curator.helpers import wait_until
from tests.support.processes import ServiceProcess

N = 400


def lines(path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def test_killed_writers_leave_a_readable_dataset_without_losses_or_duplicates(redis, live_redis,
                                                                                      tmp_path) -> None:
    env = {"BATOS_REDIS_URL": live_redis.url, "BATOS_DATA_DIR": str(tmp_path), "APPEND_COUNT": str(N)}
    path = datasets_root(tmp_path) / "v000001" / "samples.jsonl"
    rng = random.Random(7)
    for round_ in range(6):
        writer = ServiceProcess("tests.shared.datasets.append_worker", env, name=f"writer-{round_}").start()
        target = min(N - 1, len(lines(path)) + rng.randint(5, 60))

        async def progressed(target: int = target, writer: ServiceProcess = writer) -> bool:
            return len(lines(path)) >= target or not writer.alive()

        await wait_until(progressed, what=f"the writer to reach {target} lines")
        writer.kill()
        raw = path.read_bytes()
        complete = raw[: raw.rfind(b"\n") + 1]
        for line in complete.decode().splitlines():
            json.loads(line)  # every complete line is whole data, whatever the kill interrupted
    writer = ServiceProcess("tests.shared.datasets.append_worker", env, name="writer-last").start()
    await wait_until(lambda: _exited(writer), within=60, what="the last writer to finish")
    assert "done" in writer.output(), writer.output()[-2000:]
    ids = [json.loads(line)["provenance"]["interaction_id"] for line in lines(path)]
    assert len(ids) == len(set(ids)) == N
    (version,) = await list_versions(redis, tmp_path)
    assert version.sample_count == N


async def _exited(process: ServiceProcess) -> bool:
    return not process.alive()
