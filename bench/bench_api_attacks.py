"""The API's memory (RSS of its uvicorn process) under connection-level attacks, before vs after.

    .venv/bin/python -m bench.bench_api_attacks

"before": the app served as ``python -m services.api`` served it until the request-head guard
(uvicorn's defaults: httptools, no head limit, no head timeout, no concurrency limit). "after":
``python -m services.api`` now (``services/api/server.py``). A fresh server for each attack:

* four parallel 64 MB headers to ``/healthz``;
* a 200 MB body POSTed to ``/v1/tasks`` (declared length, then sent);
* 2,000 slowloris connections, each sending a header line every 2 s for 25 s.

``/healthz`` is probed twice a second meanwhile. Targets: peak RSS <= idle + 50 MiB, RSS 3 s after
<= idle + 20 MiB, every slowloris connection closed by the server within the head timeout (10 s) + 5 s.

Measured (2 shared cores): headers before 70 -> 385 MiB peak, 263 MiB 3 s after, /healthz 503 and
14 s to answer; after 70 -> 70 MiB, each refused with a 431 within 1-2 MiB sent. Body: 413 at once,
70 MiB, both. Slowloris before: 2,016 descriptors held to the end; after: all 2,000 closed by 12 s,
peak 85 MiB, /healthz 503 (over the concurrency limit of 1,000) until they were.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import httpx

from bench.bench_api import serve as serve_api
from bench.common import private_redis, table
from tests.support.redis_server import free_port

TOKEN = "bench-token-attacks"
BEFORE = """
import uvicorn
from services.api.app import create_app
from services.api.settings import ApiSettings
from shared.logs import configure_logging
settings = ApiSettings()
configure_logging(settings.log_level, settings.log_json, settings.service_name)
uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port, log_config=None, access_log=False,
            timeout_graceful_shutdown=10)
"""
MIB = 1 << 20


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Watch:
    """Samples the server's RSS and descriptors, and probes /healthz, while an attack runs."""

    def __init__(self, pid: int, port: int):
        self.pid, self.port = pid, port
        self.peak_rss = rss_mib(pid)
        self.peak_fds = fds(pid)
        self.health: list[tuple[int | str, float]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._sample), threading.Thread(target=self._probe)]

    def __enter__(self) -> Watch:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak_rss = max(self.peak_rss, rss_mib(self.pid))
            self.peak_fds = max(self.peak_fds, fds(self.pid))

    def _probe(self) -> None:
        while not self._stop.wait(0.5):
            started = time.perf_counter()
            try:
                code: int | str = httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=15).status_code
            except httpx.HTTPError as exc:
                code = type(exc).__name__
            self.health.append((code, time.perf_counter() - started))

    def health_summary(self) -> str:
        if not self.health:
            return "- (over before the first probe)"
        codes: dict[str, int] = {}
        for code, _ in self.health:
            codes[str(code)] = codes.get(str(code), 0) + 1
        worst = max((s for _, s in self.health), default=0.0)
        return " ".join(f"{c}x{n}" for c, n in sorted(codes.items())) + f", worst {worst:.1f} s"


def send_big(port: int, head: bytes, size: int, tail: bytes) -> str:
    """``head``, then ``size`` bytes of padding, then ``tail``; what came back, or how it ended."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(60)
    sent = 0
    try:
        sock.sendall(head)
        chunk = b"a" * MIB
        while sent < size:
            sock.sendall(chunk)
            sent += len(chunk)
        sock.sendall(tail)
        answer = sock.recv(200).split(b"\r\n", 1)[0].decode(errors="replace")
        return f"{answer or 'closed'} after {sent // MIB} MiB"
    except OSError as exc:
        try:
            answer = sock.recv(200).split(b"\r\n", 1)[0].decode(errors="replace")
        except OSError:
            answer = ""
        return f"{answer or type(exc).__name__} after {sent // MIB} MiB"
    finally:
        sock.close()


def header_attack(port: int) -> str:
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(send_big(
        port, b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Pad: ", 64 * MIB, b"\r\n\r\n"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return "; ".join(sorted(set(results)))


def body_attack(port: int) -> str:
    head = (f"POST /v1/tasks HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {200 * MIB}\r\n\r\n").encode()
    return send_big(port, head, 200 * MIB, b"")


def slowloris(port: int, n: int = 2_000, hold_s: float = 25.0) -> str:
    async def attack() -> str:
        conns = []
        for _ in range(n):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: a\r\n")
            conns.append(writer)
        started = time.monotonic()
        closed_at: dict[int, float] = {}
        while time.monotonic() - started < hold_s:
            await asyncio.sleep(2)
            for i, writer in enumerate(conns):
                if i in closed_at:
                    continue
                try:
                    writer.write(b"X-Slow: 1\r\n")
                    await writer.drain()
                except ConnectionError:
                    closed_at[i] = time.monotonic() - started
                if writer.transport.is_closing():
                    closed_at.setdefault(i, time.monotonic() - started)
        for writer in conns:
            writer.close()
        last = max(closed_at.values(), default=float("nan"))
        return f"{len(closed_at)}/{n} closed by the server, the last after {last:.0f} s"

    return asyncio.run(attack())


def serve(mode: str, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-c", BEFORE] if mode == "before" else [sys.executable, "-m", "services.api"]
    return serve_api(args, env, port)


def run(mode: str, name: str, attack: Callable[[int], str], redis_url: str) -> list[object]:
    port = free_port()
    env = {"BATOS_REDIS_URL": redis_url, "BATOS_API_TOKEN": TOKEN, "BATOS_API_PORT": str(port),
           "BATOS_LOG_LEVEL": "ERROR", "BATOS_OLLAMA_HOST": "http://127.0.0.1:9"}
    proc = serve(mode, env, port)
    try:
        idle = rss_mib(proc.pid)
        started = time.perf_counter()
        with Watch(proc.pid, port) as watch:
            outcome = attack(port)
        took = time.perf_counter() - started
        time.sleep(3)
        return [name, mode, idle, watch.peak_rss, rss_mib(proc.pid), watch.peak_fds, fds(proc.pid), took,
                watch.health_summary(), outcome]
    finally:
        proc.terminate()
        proc.wait(15)


def main() -> None:
    attacks = [("4 x 64 MB header", header_attack), ("200 MB body", body_attack), ("2,000 slowloris", slowloris)]
    rows = []
    with private_redis() as redis:
        for name, attack in attacks:
            for mode in ("before", "after"):
                rows.append(run(mode, name, attack, redis.url))
                print(rows[-1], flush=True)
    table("RSS of the API's uvicorn process (MiB), descriptors, /healthz meanwhile",
          ["attack", "server", "idle", "peak", "3 s after", "peak fds", "fds after", "attack s", "/healthz",
           "attacker saw"], rows)
    print("targets: peak <= idle + 50 MiB, 3 s after <= idle + 20 MiB, slowloris closed within 10 s + 5 s")


if __name__ == "__main__":
    main()
