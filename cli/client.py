"""The HTTP client: where the API is, which token to send, and one clear line for every failure.

URL: ``--url`` or ``BATOS_URL``, else ``url`` in the config file, else http://127.0.0.1:8080.
Token: ``--token`` or ``BATOS_API_TOKEN``, else ``token`` in the config file, else the file
``var/api_token`` under the current directory (``make run`` writes it there). The config file
is ``BATOS_CONFIG``, else ``$XDG_CONFIG_HOME/batos/config.toml`` (``~/.config/batos/config.toml``).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8080"
TOKEN_FILE = Path("var") / "api_token"
TIMEOUT_S = 30.0

EXIT_API_ERROR = 1  # the API answered with an error (or the thing asked about failed)
EXIT_UNREACHABLE = 2  # no answer from the API at all


class CliError(Exception):
    """A failure the CLI reports as one line (``error: ...``) and an exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_API_ERROR):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def config_path() -> Path:
    explicit = os.environ.get("BATOS_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "batos" / "config.toml"


def read_config(path: Path) -> dict[str, Any]:
    """The config file's keys, or nothing when there is no file; a broken file is an error."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CliError(f"cannot read the config file {path}: {exc}") from exc


@dataclass(frozen=True)
class Target:
    url: str
    token: str | None
    token_from: str  # where the token came from, for the hint on a 401


def resolve(url: str | None = None, token: str | None = None) -> Target:
    """Where to connect and with which token (explicit values and environment first)."""
    url = url or os.environ.get("BATOS_URL") or None
    token = token or os.environ.get("BATOS_API_TOKEN") or None
    token_from = "BATOS_API_TOKEN" if token else ""
    if url is None or token is None:
        path = config_path()
        config = read_config(path)
        if url is None and isinstance(config.get("url"), str):
            url = config["url"]
        if token is None and isinstance(config.get("token"), str):
            token, token_from = config["token"], str(path)
    if token is None and TOKEN_FILE.is_file():
        token = TOKEN_FILE.read_text().strip() or None
        token_from = str(TOKEN_FILE) if token else ""
    return Target(url=(url or DEFAULT_URL).rstrip("/"), token=token, token_from=token_from or "none found")


def describe_detail(detail: Any) -> str:
    """The API's ``detail``: a message, a list of validation issues (422), or an object (tool call)."""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for issue in detail:
            if isinstance(issue, dict):
                loc = ".".join(str(p) for p in issue.get("loc", []) if p != "body")
                parts.append(f"{loc}: {issue.get('msg', '')}" if loc else str(issue.get("msg", "")))
            else:
                parts.append(str(issue))
        return "; ".join(parts)
    if isinstance(detail, dict):
        if "error_type" in detail or "error" in detail:
            error = str(detail.get("error") or "").strip().splitlines()
            last = error[-1] if error else ""
            reason = detail.get("reason")
            text = f"{detail.get('error_type') or 'error'}: {last}".rstrip(": ")
            return f"{text} ({reason})" if reason else text
        return ", ".join(f"{k}={v}" for k, v in detail.items())
    return str(detail)


def error_message(response: httpx.Response) -> str:
    """``<status> <detail>`` on one line."""
    try:
        body = response.json()
        detail = describe_detail(body["detail"]) if isinstance(body, dict) and "detail" in body else None
    except ValueError:
        detail = None
    if detail is None:
        text = response.text.strip().splitlines()
        detail = text[0] if text else response.reason_phrase
    return " ".join(f"{response.status_code} {detail}".split())


class Client:
    """A thin ``httpx.Client`` over the API: JSON in, JSON out, ``CliError`` on any failure."""

    def __init__(self, target: Target, timeout_s: float = TIMEOUT_S):
        self.target = target
        headers = {"Authorization": f"Bearer {target.token}"} if target.token else {}
        self.http = httpx.Client(base_url=target.url, headers=headers, timeout=timeout_s)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def unreachable(self, exc: Exception) -> CliError:
        if isinstance(exc, httpx.TimeoutException):
            return CliError(f"the BAT OS API at {self.target.url} did not answer in time ({type(exc).__name__})",
                            EXIT_UNREACHABLE)
        return CliError(f"cannot reach the BAT OS API at {self.target.url} (is it running? make run)",
                        EXIT_UNREACHABLE)

    def raise_for(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        message = error_message(response)
        if response.status_code == 401:
            message += f" (token from: {self.target.token_from}; set BATOS_API_TOKEN or token in {config_path()})"
        raise CliError(message)

    def request(self, method: str, path: str, *, ok_statuses: tuple[int, ...] = (), **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise self.unreachable(exc) from exc
        if response.status_code not in ok_statuses:
            self.raise_for(response)
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs).json()
