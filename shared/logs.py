"""structlog set-up: JSON lines when stdout is not a terminal, a console renderer when it is.

Every process calls :func:`configure_logging` once at start-up; modules then log through
``structlog.get_logger(__name__)`` and bind the unit of work (task id, job id) they are in.
"""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(level: str = "INFO", json: bool | None = None, service: str = "batos") -> None:
    """Route structlog and the stdlib's loggers (arq, uvicorn) to stdout in one format."""
    use_json = (not sys.stdout.isatty()) if json is None else json
    shared_processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared_processors, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared_processors,
            # format_exc_info here too: a stdlib record's exc_info (uvicorn's "Exception in ASGI
            # application") otherwise reached the renderer as a tuple, "<traceback object ...>" in JSON
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                        structlog.processors.format_exc_info, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    structlog.contextvars.bind_contextvars(service=service)
