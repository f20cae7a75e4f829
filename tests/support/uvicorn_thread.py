"""Serve an ASGI app with a real uvicorn server in a background thread, on a free port."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn

from tests.support.redis_server import free_port


class UvicornThread:
    def __init__(self, app: Any, port: int | None = None, lifespan: str = "on", **options: Any):
        """``options``: more ``uvicorn.Config`` arguments (they win over these defaults)."""
        self.port = port or free_port()
        config = uvicorn.Config(app, **{"log_level": "warning", "access_log": False, "lifespan": lifespan,
                                        "log_config": None, **options, "host": "127.0.0.1", "port": self.port})
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True, name=f"uvicorn-{self.port}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
