"""The API tests serve the app with the production uvicorn configuration (head limits, timeouts)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.api.settings import ApiSettings
from tests.services.api.guarded_server import GuardedApiServer


@pytest.fixture
def api_server(api_settings: ApiSettings, redis: object) -> Iterator[GuardedApiServer]:
    """Overrides the root fixture: the API as ``python -m services.api`` serves it, on a free port."""
    server = GuardedApiServer(api_settings)
    server.start()
    yield server
    server.stop()
