"""One generation thread, fed by a bounded FIFO: the event loop never runs the model.

torch on two cores runs one generation at a time, so every model call (load, generate, embed,
adapter load/unload) is a :class:`Job` run by a single dedicated thread, in arrival order. A job
talks back to the event loop through its :class:`Channel` (thread-safe ``emit``; async
iteration on the loop side). At most ``max_queue`` counted jobs may wait; one more raises
:class:`Busy`, which the routes answer with Ollama's 503. A waiting job that is cancelled is
dropped without running; a running one sees ``job.stop`` set and ends at its next token.
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

log = structlog.get_logger(__name__)

BUSY_MESSAGE = "server busy, please try again.  maximum pending requests exceeded"  # Ollama's, verbatim


class Busy(Exception):
    """Too many requests are already waiting."""


@dataclass
class Finished:
    """The job's return value (the last event of its channel)."""

    value: Any


@dataclass
class Failed:
    error: BaseException


class Channel:
    """Events from the worker thread to one waiting coroutine."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._queue: asyncio.Queue[Any] = asyncio.Queue()

    def emit(self, event: Any) -> None:
        """Thread-safe: deliver ``event`` to the loop."""
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, event)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            pass

    async def next(self) -> Any:
        return await self._queue.get()

    async def __aiter__(self) -> AsyncIterator[Any]:
        while True:
            event = await self._queue.get()
            yield event
            if isinstance(event, Finished | Failed):
                return


@dataclass(eq=False)
class Job:
    fn: Callable[[Job], Any]
    channel: Channel
    counted: bool
    stop: threading.Event = field(default_factory=threading.Event)
    started: bool = False
    dropped: bool = False

    def emit(self, event: Any) -> None:
        self.channel.emit(event)

    async def result(self) -> Any:
        """Wait for the job's value (intermediate events are skipped); re-raise its error."""
        async for event in self.channel:
            if isinstance(event, Finished):
                return event.value
            if isinstance(event, Failed):
                raise event.error
        raise RuntimeError("job channel ended without a result")


class Scheduler:
    def __init__(self, max_queue: int, name: str = "local-llm-generation"):
        self.max_queue = max_queue
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending = 0
        self._running: Job | None = None
        self._name = name
        self._thread: threading.Thread | None = None

    @property
    def pending(self) -> int:
        return self._pending

    def start(self) -> None:
        """Start the worker thread, with the caller's log context (service name) bound in it."""
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._work,), name=self._name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[Job], Any], *, counted: bool = True) -> Job:
        """Queue ``fn(job)`` for the worker thread; ``Busy`` when ``max_queue`` counted jobs wait."""
        job = Job(fn, Channel(asyncio.get_running_loop()), counted)
        with self._lock:
            if counted and self._pending >= self.max_queue:
                raise Busy(BUSY_MESSAGE)
            self._pending += counted
        self._queue.put(job)
        return job

    def cancel(self, job: Job) -> None:
        """Drop a waiting job, or ask a running one to stop at its next token."""
        job.stop.set()
        with self._lock:
            if not job.started and not job.dropped:
                job.dropped = True
                self._pending -= job.counted

    def shutdown(self, timeout_s: float = 10.0) -> None:
        running = self._running
        if running is not None:
            running.stop.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            with self._lock:
                if job.dropped:
                    continue
                job.started = True
                self._pending -= job.counted
            self._running = job
            try:
                job.emit(Finished(job.fn(job)))
            except Exception as exc:  # every failure goes back to the waiting request
                job.emit(Failed(exc))
            finally:
                self._running = None
        # Shutting down: whoever still waits gets an answer rather than hanging.
        while True:
            try:
                left = self._queue.get_nowait()
            except queue.Empty:
                return
            if left is not None and not left.dropped:
                left.emit(Failed(RuntimeError("server is shutting down")))
