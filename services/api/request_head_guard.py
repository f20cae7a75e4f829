"""Request heads bounded in size and in time: uvicorn's httptools protocol with a 431 and a 408.

httptools (what uvicorn picks when it is installed) buffers a header of any size, growing it by
concatenation: four parallel 64 MB headers took the API from 74 to 447 MiB and stalled it for
12 s. Here the bytes of a head still incomplete are counted as they arrive; past
``max_head_bytes`` the connection gets a 431 that says the limit, and is closed. (h11 has such a
limit, but serving with it cost a quarter of ``POST /v1/tasks``'s throughput.) A head that goes on
over several reads is checked before each read is parsed, up to its end (body bytes behind it
don't count), and so is a read that begins a request. Only a head pipelined behind another
request in the same read is parsed before it is counted: it may reach one read (256 KiB).

uvicorn has no timeout on receiving a request head: its keep-alive timer is armed only after a
response, and any byte disarms it, so a client sending a header line now and then (slowloris) or
nothing at all held its connection for ever. Here a connection waiting for a request head (from
when it opens, and after each response) is closed ``head_timeout_s`` later if the head is still
incomplete: with a 408 when part of a head had arrived, silently when nothing had.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

STATUS_LINES = {408: b"HTTP/1.1 408 Request Timeout\r\n", 431: b"HTTP/1.1 431 Request Header Fields Too Large\r\n"}


class HeadGuardedProtocol(HttpToolsProtocol):
    """Use :func:`head_guarded_protocol`, which sets the limits."""

    head_timeout_s: float = 10.0
    max_head_bytes: int = 65_536

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._in_head = False  # between the first byte of a request and the end of its headers
        self._head_bytes = 0
        self._began_in_read = self._ended_in_read = False
        self._tail = b""  # the last bytes of the previous read (a head's end may straddle two reads)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head and not self.transport.is_closing():  # a head continued from an earlier read
            end = (self._tail + data).find(b"\r\n\r\n")
            in_head = len(data) if end < 0 else end + 4 - len(self._tail)  # body bytes behind it don't count
            if self._head_bytes + in_head > self.max_head_bytes:
                self._refuse_oversize()
                return  # not parsed: httptools never holds more than the limit of a head
        elif self._expecting_head() and not self.transport.is_closing():  # a new request starts here
            end = data.find(b"\r\n\r\n")
            if (len(data) if end < 0 else end + 4) > self.max_head_bytes:
                self._refuse_oversize()
                return
        self._tail = data[-3:]
        self._began_in_read = self._ended_in_read = False
        super().data_received(data)
        if not self._in_head or self.transport.is_closing():
            return
        if not self._began_in_read:
            self._head_bytes += len(data)
        elif not self._ended_in_read:  # this read starts with the head
            self._head_bytes = len(data)
        if self._head_bytes > self.max_head_bytes:
            self._refuse_oversize()

    def _expecting_head(self) -> bool:
        """Nothing of a request is in flight: the next byte begins a request head."""
        return not self._in_head and (self.cycle is None or self.cycle.response_complete)

    def _refuse_oversize(self) -> None:
        self._answer_and_close(431, f"request head (request line and headers) over the limit of "
                                    f"{self.max_head_bytes} bytes")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes, self._began_in_read = True, 0, True

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._stop_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._ended_in_read = True
        super().on_message_complete()

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)  # its head is in already
        super().on_response_complete()
        if not pipelined and not self.transport.is_closing():
            self._start_head_timer()

    def _start_head_timer(self) -> None:
        self._stop_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._in_head:
            self._answer_and_close(408, f"request head not complete within {self.head_timeout_s:g} s")
        elif self.cycle is None or self.cycle.response_complete:
            self.transport.close()  # nothing of a next request: nothing to answer

    def _answer_and_close(self, status: int, msg: str) -> None:
        body = msg.encode()
        self.transport.write(STATUS_LINES[status] + b"content-type: text/plain; charset=utf-8\r\n"
                             b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body)
        self.transport.close()
        self.logger.warning("request refused with %d: %s", status, msg)


def head_guarded_protocol(head_timeout_s: float, max_head_bytes: int) -> type[HeadGuardedProtocol]:
    """The protocol class to give uvicorn as ``http=``, with these limits."""
    return type("HeadGuardedProtocol", (HeadGuardedProtocol,), {"head_timeout_s": head_timeout_s,
                                                                "max_head_bytes": max_head_bytes})
