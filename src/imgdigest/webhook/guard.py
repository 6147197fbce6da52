"""Time and size bounds on every connection, so a slow or silent client cannot hold one.

uvicorn bounds only the idle time *after* a response (``timeout_keep_alive``): a client
that completes the TLS handshake and then sends nothing, or sends its headers or body a
few bytes a second, is waited on for ever, and asyncio waits 60 s for a handshake that
never finishes. The API server sends a whole review at once, so anything slower is
broken or hostile. ``GuardedHttpToolsProtocol`` is uvicorn's own httptools protocol with
a per-connection watchdog: the headers of a request must arrive within
``HEADER_SECONDS`` (counted from the handshake for the first request, from its first
byte for the next ones) and stay under ``MAX_HEADER_BYTES``; its body must arrive within
``BODY_SECONDS`` of the headers. A request that misses a bound is answered 408 (431 for
oversized headers) and the connection closed. ``bounded_loop_factory`` bounds the TLS
handshake and the TLS close the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("imgdigest.webhook")

#: A TLS handshake not done within this is dropped (asyncio's own default is 60 s).
HANDSHAKE_SECONDS = 10.0
#: After a close, the peer's TLS close_notify is awaited this long, then the socket is cut.
TLS_SHUTDOWN_SECONDS = 5.0
#: Request line and headers must be complete within this.
HEADER_SECONDS = 10.0
#: The body must be complete within this after the headers.
BODY_SECONDS = 10.0
#: Request line and headers larger than this are refused (the API server sends about 200 bytes).
MAX_HEADER_BYTES = 64 * 1024

_HEADERS, _BODY, _APP = "headers", "body", "app"


def _status(code: int, reason: str) -> bytes:
    return (
        f"HTTP/1.1 {code} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"content-length: 0\r\nconnection: close\r\n\r\n"
    ).encode("ascii")


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with deadlines on reading each request."""

    header_seconds = HEADER_SECONDS
    body_seconds = BODY_SECONDS
    max_header_bytes = MAX_HEADER_BYTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase = _APP  # headers, body, or app (nothing to read: answering, or idle)
        self._header_bytes = 0
        self._watchdog: asyncio.TimerHandle | None = None

    # -- the watchdog --------------------------------------------------------------

    def _arm(self, phase: str, seconds: float) -> None:
        self._disarm()
        self._phase = phase
        self._watchdog = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    def _expired(self) -> None:
        self._watchdog = None
        if self.transport.is_closing():
            return
        seconds = self.header_seconds if self._phase == _HEADERS else self.body_seconds
        self._refuse(408, "Request Timeout", f"{self._phase} not received within {seconds:g}s")

    def _refuse(self, code: int, reason: str, why: str) -> None:
        """Answer with ``code`` (unless a response is under way) and close the connection."""
        log.info("closing the connection from %s: %s", _peer(self.client), why)
        cycle = self.cycle  # in the headers phase: the previous request's, if any
        if (
            cycle is None
            or cycle.response_complete
            or (self._phase == _BODY and not cycle.response_started)
        ):
            self.transport.write(_status(code, reason))
        self._phase = _APP
        self.transport.close()

    # -- uvicorn's protocol, with the watchdog wound up and down ---------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_bytes = 0
        self._arm(_HEADERS, self.header_seconds)  # the first request must follow at once

    def data_received(self, data: bytes) -> None:
        if self._phase != _BODY:
            self._header_bytes += len(data)  # body bytes of the same read may be counted too
        super().data_received(data)
        if self._phase == _HEADERS and self._header_bytes > self.max_header_bytes:
            self._refuse(431, "Request Header Fields Too Large", "headers too large")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._phase != _HEADERS:  # a later request on a kept-alive connection
            self._arm(_HEADERS, self.header_seconds)

    def on_headers_complete(self) -> None:
        self._arm(_BODY, self.body_seconds)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self._phase = _APP
        self._header_bytes = 0
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._phase = _APP
        super().connection_lost(exc)


def _peer(client: tuple[str, int] | None) -> str:
    return f"{client[0]}:{client[1]}" if client else "a client"


def bounded_loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop's loop (asyncio's without it) whose TLS servers bound handshake and close.

    uvicorn calls ``loop.create_server`` without these two timeouts and has no option
    for them, so the loop supplies them as defaults.
    """
    base: type[asyncio.AbstractEventLoop]
    try:
        import uvloop

        base = uvloop.Loop
    except ImportError:
        base = asyncio.SelectorEventLoop

    class BoundedLoop(base):  # type: ignore[valid-type, misc]
        async def create_server(self, *args: Any, **kwargs: Any) -> asyncio.AbstractServer:
            if kwargs.get("ssl") is not None:
                kwargs.setdefault("ssl_handshake_timeout", HANDSHAKE_SECONDS)
                kwargs.setdefault("ssl_shutdown_timeout", TLS_SHUTDOWN_SECONDS)
            return await super().create_server(*args, **kwargs)

    return BoundedLoop
