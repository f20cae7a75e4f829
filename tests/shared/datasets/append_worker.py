"""A process that appends samples 0..N-1 to the dataset as fast as it can (the crash tests kill it).

    BATOS_REDIS_URL=... BATOS_DATA_DIR=... APPEND_COUNT=N python -m tests.shared.datasets.append_worker
"""

from __future__ import annotations

import asyncio
import os

from shared.datasets import DatasetStore
from shared.redis import connect
from tests.shared.datasets.helpers import sample


async def main() -> None:
    redis = await connect(os.environ["BATOS_REDIS_URL"])
    store = DatasetStore(redis, os.environ["BATOS_DATA_DIR"], trigger_size=int(os.environ.get("TRIGGER", "100000")))
    print("appending", flush=True)
    for n in range(int(os.environ["APPEND_COUNT"])):
        await store.append(sample(n))
    print("done", flush=True)
    await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main())
