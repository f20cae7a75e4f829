"""``python -m services.api``: serve the HTTP API with uvicorn (configured in ``services.api.server``)."""

from __future__ import annotations

import uvicorn

from services.api.app import create_app
from services.api.server import uvicorn_options
from services.api.settings import ApiSettings
from shared.logs import configure_logging


def main() -> None:
    settings = ApiSettings()  # type: ignore[call-arg]  # the token comes from the environment
    configure_logging(settings.log_level, settings.log_json, settings.service_name)
    uvicorn.run(create_app(settings), **uvicorn_options(settings))


if __name__ == "__main__":
    main()
