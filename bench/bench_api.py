"""HTTP API: ``POST /v1/tasks`` requests/s beside a bare FastAPI endpoint doing one Redis SET.

    .venv/bin/python -m bench.bench_api      (needs ``wrk``: apt-get install -y wrk)

Both run in one uvicorn worker process, loaded by wrk with 32 connections for 10 s each, in the
same run. Anchor (TARGETS.md): bare ~1,700-1,800 req/s, p50 18 ms, p99 30 ms. Target: POST
/v1/tasks >= 0.7x bare, p99 <= 50 ms.
"""

from __future__ import annotations

import os
import re
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


def main() -> None:
    with private_redis() as server, tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(LUA % TOKEN)
        rows = []
        port = free_port()
        proc = serve([sys.executable, "-c", BARE, server.url, str(port)], {}, port)
        try:
            bare = wrk(f"http://127.0.0.1:{port}/bare", script)
        finally:
            proc.terminate()
            proc.wait(10)
        rows.append(["bare FastAPI, one Redis SET", *bare])
        port = free_port()
        env = {"BATOS_REDIS_URL": server.url, "BATOS_API_TOKEN": TOKEN, "BATOS_API_PORT": str(port),
               "BATOS_LOG_LEVEL": "WARNING"}
        proc = serve([sys.executable, "-m", "services.api"], env, port)
        try:
            ours = wrk(f"http://127.0.0.1:{port}/v1/tasks", script)
        finally:
            proc.terminate()
            proc.wait(10)
        rows.append(["POST /v1/tasks (record + arq job + wake-up)", *ours])
    table("one uvicorn worker, wrk -c32 for 10 s", ["endpoint", "req/s", "p50 ms", "p99 ms"], rows)
    print(f"POST /v1/tasks: {ours[0] / bare[0]:.2f}x bare (target >= 0.7x), p99 {ours[2]:.1f} ms (target <= 50)")


if __name__ == "__main__":
    main()
