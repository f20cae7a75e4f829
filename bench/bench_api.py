"""HTTP API: ``POST /v1/tasks`` requests/s beside a bare FastAPI endpoint doing one Redis SET.

    .venv/bin/python -m bench.bench_api      (needs ``wrk``: apt-get install -y wrk)

Both run in one uvicorn worker process, loaded by wrk with 32 connections for 10 s, alternately,
three times each in the same run (medians). Anchor (TARGETS.md): bare ~1,700-1,800 req/s,
p50 18 ms, p99 30 ms. Target: POST /v1/tasks >= 0.7x bare, p99 <= 50 ms.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import private_redis, table
from tests.support.redis_server import free_port

TOKEN = "bench-token-1"

BARE = r"""
import sys, uuid, uvicorn
from fastapi import FastAPI
from redis.asyncio import Redis
app = FastAPI()
redis = Redis.from_url(sys.argv[1])
@app.post("/bare")
async def bare(body: dict):
    key = uuid.uuid4().hex
    await redis.set("bare:" + key, "x")
    return {"id": key}
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
"""

LUA = """
wrk.method = "POST"
wrk.body = '{"text": "Explain why the sky is blue in two sentences."}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
"""


def serve(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(args, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/docs", timeout=0.5)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def wrk(url: str, script: Path) -> tuple[float, float, float]:
    out = subprocess.run(["wrk", "-t2", "-c32", "-d10s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    if "Non-2xx" in out:
        raise RuntimeError(f"errors during the run:\n{out}")
    return rps, ms("50"), ms("99")


def main(rounds: int = 3) -> None:
    """Both servers stay up; wrk alternates between them ``rounds`` times (this machine is noisy)."""
    with private_redis() as server, tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(LUA % TOKEN)
        bare_port, ours_port = free_port(), free_port()
        env = {"BATOS_REDIS_URL": server.url, "BATOS_API_TOKEN": TOKEN, "BATOS_API_PORT": str(ours_port),
               "BATOS_LOG_LEVEL": "WARNING"}
        procs = [serve([sys.executable, "-c", BARE, server.url, str(bare_port)], {}, bare_port),
                 serve([sys.executable, "-m", "services.api"], env, ours_port)]
        runs: dict[str, list[tuple[float, float, float]]] = {"bare": [], "ours": []}
        try:
            for _ in range(rounds):
                runs["bare"].append(wrk(f"http://127.0.0.1:{bare_port}/bare", script))
                runs["ours"].append(wrk(f"http://127.0.0.1:{ours_port}/v1/tasks", script))
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(10)
    med = {k: [statistics.median(r[i] for r in v) for i in range(3)] for k, v in runs.items()}
    rows = [["bare FastAPI, one Redis SET", *med["bare"]],
            ["POST /v1/tasks (record + arq job + wake-up)", *med["ours"]]]
    table(f"one uvicorn worker, wrk -c32, 10 s runs alternated, median of {rounds}",
          ["endpoint", "req/s", "p50 ms", "p99 ms"], rows)
    ratios = [o[0] / b[0] for o, b in zip(runs["ours"], runs["bare"], strict=True)]
    print(f"POST /v1/tasks: {med['ours'][0] / med['bare'][0]:.2f}x bare (per round: "
          f"{', '.join(f'{r:.2f}' for r in ratios)}; target >= 0.7x), p99 {med['ours'][2]:.1f} ms (target <= 50)")


if __name__ == "__main__":
    main()
