"""``/v1/events``: read the server-sent events, and say each one in a readable line.

The stream is read on a background thread into a queue, so a caller can wait for the next
event with a deadline (``--for``), poll a record meanwhile, and stop at any time: the API
sends a ping only every 15 s, and a blocking read would hold the caller until then.
"""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from cli.client import EXIT_UNREACHABLE, Client, CliError, error_message

READY = "ready"  # the API's first event: the subscription is in place


@dataclass
class Event:
    """One event as the API sends it (the bus envelope)."""

    id: str
    type: str
    time: str
    source: str
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, raw: str) -> Event:
        body = json.loads(raw)
        return cls(id=str(body.get("id", "")), type=str(body.get("type", "")), time=str(body.get("time", "")),
                   source=str(body.get("source", "")), data=dict(body.get("data") or {}))

    def as_json(self) -> str:
        return json.dumps({"id": self.id, "type": self.type, "time": self.time, "source": self.source,
                           "data": self.data})


def parse_sse(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(event name, data) of each server-sent event; comments (pings) are skipped."""
    name, data = "message", list[str]()
    for line in lines:
        if line == "":
            if data:
                yield name, "\n".join(data)
            name, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            key, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if key == "event":
                name = value
            elif key == "data":
                data.append(value)
    if data:
        yield name, "\n".join(data)


_END = object()


class EventStream:
    """A live subscription to ``/v1/events`` (optionally some types only), read on a thread."""

    def __init__(self, client: Client, types: Iterable[str] = ()):
        self._client = client
        self._types = list(types)
        self._queue: queue.Queue[object] = queue.Queue()
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._response: httpx.Response | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="batos-events")
        self.failure: CliError | None = None
        self.closed = False  # the stream ended (the API went away, or close())

    def __enter__(self) -> EventStream:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def start(self, ready_timeout_s: float = 30.0) -> None:
        """Open the stream and wait until the API says the subscription is in place."""
        self._thread.start()
        deadline = time.monotonic() + ready_timeout_s
        while not self._ready.wait(0.05):
            if time.monotonic() > deadline:
                self.close()
                raise CliError(f"the event stream at {self._client.target.url}/v1/events did not open in time",
                               EXIT_UNREACHABLE)
        if self.failure is not None:
            raise self.failure

    def _run(self) -> None:
        params = {"type": self._types} if self._types else None
        timeout = httpx.Timeout(10.0, read=None)  # an idle stream is not an error
        try:
            with self._client.http.stream("GET", "/v1/events", params=params, timeout=timeout) as response:
                self._response = response
                if not response.is_success:
                    response.read()
                    message = error_message(response)
                    try:
                        self._client.raise_for(response)
                    except CliError as exc:
                        message = exc.message
                    self.failure = CliError(message)
                    return
                for name, data in parse_sse(response.iter_lines()):
                    if self._stop.is_set():
                        return
                    if name == READY:
                        self._ready.set()
                        continue
                    try:
                        self._queue.put(Event.from_wire(data))
                    except (ValueError, TypeError):
                        continue  # not an envelope: nothing to show
        except httpx.TransportError as exc:
            if not self._stop.is_set():
                self.failure = self._client.unreachable(exc)
        except Exception as exc:  # closed from the other thread mid-read, and the like
            if not self._stop.is_set():
                self.failure = CliError(f"the event stream failed: {exc}", EXIT_UNREACHABLE)
        finally:
            self._ready.set()
            self._queue.put(_END)

    def next(self, timeout_s: float) -> Event | None:
        """The next event, or ``None`` when none came within ``timeout_s`` or the stream ended."""
        if self.closed:
            return None
        try:
            item = self._queue.get(timeout=max(timeout_s, 0.0))
        except queue.Empty:
            return None
        if item is _END:
            self.closed = True
            return None
        assert isinstance(item, Event)
        return item

    def close(self) -> None:
        """End the stream now: the reader thread is blocked reading, so shut its socket down under it."""
        self._stop.set()
        response = self._response
        if response is not None:
            network = response.extensions.get("network_stream")
            sock = network.get_extra_info("socket") if network is not None else None
            try:
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)
            except OSError:  # already closed
                pass
        self._thread.join(timeout=5)
        self.closed = True


def _clock(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%H:%M:%S")
    except ValueError:
        return iso[:8] or "--:--:--"


def _num(value: Any, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "?"


def eta(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return "?"
    seconds = round(seconds)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else (f"{minutes}m{secs:02d}s" if minutes else f"{secs}s")


def summary(event: Event) -> str:
    """What happened, in words: the part of the line after the time and the type."""
    d = event.data
    match event.type:
        case "task_completed":
            dissonance = f", dissonance {_num(d['dissonance'])}" if d.get("dissonance") is not None else ""
            return f"task {d.get('task_id')} {d.get('status', 'succeeded')}{dissonance} (from {d.get('source')})"
        case "persona_answered":
            if d.get("dissonance") is not None:
                return (f"task {d.get('task_id')} ALFRED ({d.get('model')}) dissonance {_num(d['dissonance'])}: "
                        f"{_one_line(d.get('content', ''))}")
            return (f"task {d.get('task_id')} {d.get('persona')} ({d.get('model')}, {_num(d.get('duration_s'))} s): "
                    f"{_one_line(d.get('content', ''))}")
        case "task_failed":
            return f"task {d.get('task_id')} failed: {d.get('error') or 'no reason given'} (from {d.get('source')})"
        case "high_cognitive_dissonance":
            return (f"task {d.get('task_id')} dissonance {_num(d.get('score'))} at depth {d.get('depth', 0)}: "
                    f"{_one_line(d.get('task', ''))}")
        case "codex_proposal_created":
            return f"codex proposal {d.get('proposal_id')} from task {d.get('task_id')}"
        case "motivator_cap_reached":
            return f"motivator held back a {d.get('kind')} task: {d.get('reason')}"
        case "tool_created":
            return f"tool {d.get('tool_name')} v{d.get('version')} created"
        case "tool_forge_failed":
            return f"forge job {d.get('job_id')} failed: {_one_line(d.get('reason', ''))}"
        case "dataset_sealed":
            return f"dataset {d.get('version')} sealed for {d.get('persona')}: {d.get('sample_count')} samples"
        case "fine_tune_progress":
            return (f"fine-tune {d.get('fine_tune_id')} ({d.get('persona')}) step {d.get('step')}/{d.get('max_steps')}"
                    f" loss {_num(d.get('loss'), 4)} eta {eta(d.get('eta_s'))}")
        case "model_tuned":
            return (f"{d.get('persona')} now speaks through {d.get('new_model_tag')}"
                    f" (was {d.get('previous_model_tag')}; fine-tune {d.get('fine_tune_id')})")
        case "model_rejected":
            return f"{d.get('persona')} keeps its model: fine-tune {d.get('fine_tune_id')} rejected: {d.get('reason')}"
        case "model_rolled_back":
            return (f"{d.get('persona')} rolled back to {d.get('restored_model_tag')}"
                    f" (replaced {d.get('replaced_model_tag')})")
        case "fine_tune_failed":
            return f"fine-tune {d.get('fine_tune_id')} ({d.get('persona')}) failed: {_one_line(d.get('reason', ''))}"
        case "fine_tune_superseded":
            return (f"fine-tune {d.get('fine_tune_id')} ({d.get('persona')}) superseded by"
                    f" {d.get('newer_version')}: {d.get('reason')}")
    return " ".join(f"{k}={_one_line(str(v))}" for k, v in d.items()) or "(no data)"


def _one_line(text: Any, limit: int = 160) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def line(event: Event) -> str:
    """One readable line: ``HH:MM:SS type  what happened``."""
    return f"{_clock(event.time)} {event.type:<26} {summary(event)}"
