"""``python -m services.motivator``: turn events and idleness into tasks until SIGTERM."""

from __future__ import annotations

import functools

from services.motivator.service import serve
from services.motivator.settings import MotivatorSettings
from shared.service_runner import main as run_service


def main() -> None:
    settings = MotivatorSettings()
    run_service(settings, functools.partial(serve, settings))


if __name__ == "__main__":
    main()
