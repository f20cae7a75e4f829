"""The health check: ``GET /_ping`` through the guard's socket (so through to the engine too)."""

from __future__ import annotations

import socket

from services.docker_guard.wire import parse_response


def ping(socket_path: str, timeout_s: float = 5.0) -> str | None:
    """None when the guard answers ``/_ping`` with 200 OK, else what went wrong."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_s)
            sock.connect(socket_path)
            sock.sendall(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
            raw = b""
            while chunk := sock.recv(65536):
                raw += chunk
        status, body = parse_response(raw)
    except (OSError, ValueError) as exc:
        return f"{socket_path}: {exc}"
    if status != 200 or body.strip() != b"OK":
        return f"{socket_path}: /_ping answered {status} {body[:200]!r}"
    return None
