"""The API served as ``python -m services.api`` serves it (``services.api.server``), in a thread."""

from __future__ import annotations

import threading
import time

import uvicorn

from services.api.app import create_app
from services.api.server import uvicorn_options
from services.api.settings import ApiSettings
from tests.support.redis_server import free_port


class GuardedApiServer:
    def __init__(self, settings: ApiSettings):
        self.port = free_port()
        settings = settings.model_copy(update={"api_host": "127.0.0.1", "api_port": self.port})
        config = uvicorn.Config(create_app(settings), **uvicorn_options(settings), log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True, name=f"api-{self.port}")

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
