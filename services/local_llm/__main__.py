"""``python -m services.local_llm``: serve Ollama's HTTP API over the local model with uvicorn.

The port answers at once; the model loads in the background (see ``service``). SIGTERM stops
the server within uvicorn's graceful-shutdown bound and ends the running generation.
"""

from __future__ import annotations

import logging

import uvicorn

from services.local_llm.app import create_app
from services.local_llm.settings import LocalLLMSettings
from shared.logs import configure_logging


def main() -> None:
    settings = LocalLLMSettings()
    configure_logging(settings.log_level, settings.log_json, settings.service_name)
    logging.captureWarnings(True)  # library warnings (transformers, peft) as log lines
    uvicorn.run(create_app(settings), host=settings.local_llm_host, port=settings.local_llm_port,
                log_config=None, access_log=False, timeout_graceful_shutdown=10)


if __name__ == "__main__":
    main()
