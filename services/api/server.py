"""The uvicorn configuration the API is served with: request heads bounded, connections limited.

``python -m services.api`` and the tests serve through this one place. Past
``api_limit_concurrency`` open connections (or running requests) uvicorn answers 503.
"""

from __future__ import annotations

from typing import Any

from services.api.request_head_guard import head_guarded_protocol
from services.api.settings import ApiSettings


def uvicorn_options(settings: ApiSettings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` or ``uvicorn.Config``, besides the app."""
    return {
        "host": settings.api_host,
        "port": settings.api_port,
        "http": head_guarded_protocol(settings.api_head_timeout_s, settings.api_max_head_bytes),
        "timeout_keep_alive": settings.api_keep_alive_s,
        "limit_concurrency": settings.api_limit_concurrency,
        "timeout_graceful_shutdown": 10,
        "log_config": None,
        "access_log": False,
    }
