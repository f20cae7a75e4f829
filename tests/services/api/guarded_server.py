"""The API served as ``python -m services.api`` serves it (``services.api.server``), in a thread."""

from __future__ import annotations

from services.api.app import create_app
from services.api.server import uvicorn_options
from services.api.settings import ApiSettings
from tests.support.uvicorn_thread import UvicornThread


class GuardedApiServer(UvicornThread):
    def __init__(self, settings: ApiSettings):
        options = {k: v for k, v in uvicorn_options(settings).items() if k not in ("host", "port")}
        super().__init__(create_app(settings), **options)  # on a free port
