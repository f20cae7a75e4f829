"""An internal error is answered with a JSON 500 and logged with its formatted traceback.

``python -m services.api`` runs as a process with JSON logs; a task record that is not JSON in
Redis makes ``GET /v1/tasks/{id}`` fail inside the route.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import httpx

from shared.keys import task_key
from tests.conftest import API_TOKEN
from tests.support.redis_server import RedisServer, free_port


def serve(redis_url: str, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "BATOS_REDIS_URL": redis_url, "BATOS_API_TOKEN": API_TOKEN, "BATOS_API_PORT": str(port),
           "BATOS_ENVIRONMENT": "test", "BATOS_LOG_JSON": "true", "BATOS_OLLAMA_HOST": "http://127.0.0.1:9"}
    proc = subprocess.Popen([sys.executable, "-m", "services.api"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=0.5)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"the API did not start: {proc.communicate()[0]}")


async def test_an_internal_error_is_logged_with_its_traceback(live_redis: RedisServer, redis: Any) -> None:
    await redis.set(task_key("broken"), b"not a record")
    port = free_port()
    proc = serve(live_redis.url, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                     headers={"Authorization": f"Bearer {API_TOKEN}"}) as client:
            response = await client.get("/v1/tasks/broken")
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=20)
    assert response.status_code == 500 and response.json() == {"detail": "internal error"}
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    errors = [r for r in records if r.get("level") == "error"]
    assert errors, output
    exception = errors[0]["exception"]
    assert isinstance(exception, str) and exception.startswith("Traceback (most recent call last)"), errors[0]
    assert "ValidationError" in exception and "tasks.py" in exception
    assert "<traceback object" not in output and "exc_info" not in errors[0]
