"""The create request ``shared.sandbox.runner`` really sends, captured without a Docker engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import docker

from services.docker_guard.settings import DockerGuardSettings
from shared.sandbox.runner import Sandbox


class Captured(Exception):
    def __init__(self, url: str, kwargs: dict[str, Any]) -> None:
        super().__init__(url)
        self.url = url
        self.kwargs = kwargs


def runner_create(settings: DockerGuardSettings, **run: Any) -> tuple[str, list[tuple[str, str]], bytes]:
    """(target, headers, body) of the create that ``Sandbox.run(**run)`` sends with ``settings``.

    The SDK builds the request exactly as for a real engine; it is caught as it is sent.
    """
    client = docker.DockerClient(base_url="unix:///nonexistent/docker.sock", version="1.41")

    def post(url: str, **kwargs: Any) -> Any:
        raise Captured(url, kwargs)

    client.api._post = post
    box = Sandbox(settings, client=client)
    try:
        box.run(run.pop("code", "print(1)"), **run)
    except Captured as caught:
        target = caught.url.replace("http+docker://localhost", "")
        headers = list(caught.kwargs.get("headers", {}).items())
        body = caught.kwargs["data"].encode()
        return target, headers, body
    raise AssertionError("Sandbox.run never created a container")


def guard_settings(workdir: Path | str, **overrides: Any) -> DockerGuardSettings:
    values: dict[str, Any] = {"sandbox_workdir": str(workdir), "sandbox_timeout_s": 3.0}
    values.update(overrides)
    return DockerGuardSettings(**values)


def body_doc(body: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(body)
    return doc
