"""Start-to-ready time and resident memory of each non-GPU service process.

    .venv/bin/python -m bench.bench_startup

Ready means: the API answers /healthz; an arq worker wrote its health-check key; a service
wrote its heartbeat. Target (TARGETS.md): < 1 s and < 120 MB RSS. Median of 3 starts.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import redis

from bench.common import private_redis, table
from shared.keys import QUEUE_COGNITION, QUEUE_TOOL_FORGE, heartbeats_index
from tests.support.redis_server import free_port


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_once(module: str, ready: object, env: dict[str, str]) -> tuple[float, float]:
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", module], env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not ready():  # type: ignore[operator]
            if proc.poll() is not None:
                raise RuntimeError(f"{module} exited with {proc.returncode}")
            if time.perf_counter() - started > 30:
                raise TimeoutError(module)
            time.sleep(0.005)
        return time.perf_counter() - started, rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    with private_redis() as server:
        client = redis.Redis.from_url(server.url)
        port = free_port()
        env = {"BATOS_REDIS_URL": server.url, "BATOS_API_TOKEN": "bench-token", "BATOS_API_PORT": str(port),
               "BATOS_LOG_LEVEL": "WARNING", "BATOS_DATA_DIR": "/tmp/batos-bench-startup"}

        def api_ready() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.2).status_code == 200
            except httpx.HTTPError:
                return False

        cases = [
            ("api", "services.api", api_ready),
            ("cognition worker", "workers.cognition", lambda: client.exists(QUEUE_COGNITION + ":health-check")),
            ("tool-forge worker", "workers.tool_forge", lambda: client.exists(QUEUE_TOOL_FORGE + ":health-check")),
            ("motivator", "services.motivator", lambda: client.zcard(heartbeats_index("motivator"))),
            ("curator", "services.curator", lambda: client.zcard(heartbeats_index("curator"))),
        ]
        rows = []
        for label, module, ready in cases:
            runs = []
            for _ in range(3):
                client.flushall()
                runs.append(start_once(module, ready, env))
            rows.append([label, statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)])
    table("start -> ready (s) and RSS (MB), median of 3; target < 1 s, < 120 MB",
          ["process", "ready s", "RSS MB"], rows)


if __name__ == "__main__":
    main()
