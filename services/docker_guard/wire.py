"""HTTP/1.1 on the wire: the client's request head, the guard's upstream requests, its refusals.

Strict on purpose: one request per connection, no obsolete line folding, token-only header names,
an origin-form target. The upstream request is built from scratch (only the headers the engine
needs), so nothing the client sent besides the checked method, target and body reaches it.
"""

from __future__ import annotations

import json
import re

from services.docker_guard.policy import Refused

MAX_HEAD_BYTES = 16 * 1024
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def parse_request_head(raw: bytes) -> tuple[str, str, list[tuple[str, str]]]:
    """(method, target, headers) of a head ending in CRLF CRLF; ``Refused`` when malformed."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise Refused("http.malformed", "a non-ASCII request head") from None
    lines = text[:-4].split("\r\n") if text.endswith("\r\n\r\n") else []
    parts = lines[0].split(" ") if lines else []
    if len(parts) != 3 or parts[0] not in METHODS or parts[2] not in ("HTTP/1.1", "HTTP/1.0"):
        raise Refused("http.malformed", f"bad request line {lines[0][:200] if lines else ''!r}")
    method, target, _ = parts
    if not target.startswith("/"):
        raise Refused("path", f"only origin-form targets, not {target[:200]!r}")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not TOKEN.fullmatch(name) or any(c in value for c in "\r\n\x00"):
            raise Refused("http.malformed", f"bad header line {line[:100]!r}")
        headers.append((name, value.strip(" \t")))
    return method, target, headers


def upstream_request(method: str, target: str, body: bytes, *, upgrade: bool = False) -> bytes:
    """The request the guard sends the engine: one per connection (``Connection: close``)."""
    lines = [f"{method} {target} HTTP/1.1", "Host: docker", "User-Agent: batos-docker-guard"]
    if upgrade:
        lines += ["Connection: Upgrade", "Upgrade: tcp"]
    else:
        lines.append("Connection: close")
    if body or method in ("POST", "PUT"):
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body


def json_response(status: int, reason: str, message: str) -> bytes:
    """A complete response with a JSON ``{"message": ...}`` body (what the Docker SDK shows)."""
    body = json.dumps({"message": message}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nConnection: close\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("ascii") + body


def refusal(exc: Refused) -> bytes:
    return json_response(403, "Forbidden", exc.message)


def parse_response(raw: bytes) -> tuple[int, bytes]:
    """(status, body) of a whole response read until the engine closed the connection."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status_parts = lines[0].split(" ", 2)
    if not sep or len(status_parts) < 2 or not status_parts[1].isdigit():
        raise ValueError("not an HTTP response")
    chunked = any(
        k.strip().lower() == "transfer-encoding" and "chunked" in v.lower()
        for k, _, v in (line.partition(":") for line in lines[1:])
    )
    if chunked:
        out, rest = bytearray(), body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                break
            out += rest[:size]
            rest = rest[size + 2:]
        body = bytes(out)
    return int(status_parts[1]), body
