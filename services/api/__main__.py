"""``python -m services.api``: serve the HTTP API with uvicorn."""

from __future__ import annotations

import uvicorn

from services.api.app import create_app
from services.api.settings import ApiSettings
from shared.logs import configure_logging


def main() -> None:
    settings = ApiSettings()  # type: ignore[call-arg]  # the token comes from the environment
    configure_logging(settings.log_level, settings.log_json, settings.service_name)
    uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port,
                log_config=None, access_log=False, timeout_graceful_shutdown=10)


if __name__ == "__main__":
    main()
