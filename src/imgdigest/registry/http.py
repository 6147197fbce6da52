"""The HTTP/1.1 client underneath the transport: httptools' C parser over asyncio.

A registry command spends its first milliseconds importing its HTTP client, and then sends
hundreds of small HEAD requests whose cost is the registry's, not ours. httptools (the
parser uvicorn uses, and the webhook's server with it) imports in about a millisecond and
parses an answer in C, so one keep-alive HEAD costs well under half the client CPU aiohttp
spent on it (``benchmarks/bench_http_clients.py``), and a network command reaches its first
request ~100 ms sooner. What this module owns in exchange is small: a keep-alive pool per
origin, timeouts, request framing, and reading bodies sized by length, by chunks or by the
connection's end, decoded of gzip or deflate.

Everything above this module sees only ``Response`` (``status_code``, case-insensitive
``headers``, ``aread``, ``aiter_raw``, ``aclose``) and the library's own errors: no socket,
TLS or parser exception escapes, so callers catch ``NetworkError``.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import zlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from urllib.parse import SplitResult, urlsplit

import httptools

from imgdigest.errors import NetworkError, RegistryTimeoutError, UsageError

# Body bytes buffered ahead of the reader before the socket stops being read.
_HIGH_WATER = 1024 * 1024
# Methods whose request may be sent again when a reused connection turns out closed.
_IDEMPOTENT = frozenset({"GET", "HEAD"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_NO_BODY_STATUS = frozenset({204, 304})


class Headers(dict[str, str]):
    """Response headers by lower-case name; a repeated header keeps its first value."""

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key.lower() if isinstance(key, str) else key)


class _Disconnected(Exception):
    """The server closed the connection before it answered."""


class _CutShort(Exception):
    """The answer ended before the body its framing announced."""


class _Malformed(Exception):
    """The bytes on the connection are not an HTTP/1.1 answer."""


class _Answer:
    """One response as the parser delivers it: status, headers, then body chunks."""

    __slots__ = (
        "_conn",
        "_head",
        "_waiter",
        "body",
        "buffered",
        "complete",
        "dirty",
        "error",
        "headers",
        "headers_done",
        "keep_alive",
        "parser",
        "status",
    )

    def __init__(self, conn: _Connection, head: bool) -> None:
        self._conn = conn
        self._head = head
        self._waiter: asyncio.Future[None] | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.headers = Headers()
        self.body: deque[bytes] = deque()
        self.buffered = 0
        self.status = 0
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        # Bytes after the answer's end: the connection cannot be trusted with the next one.
        self.dirty = False
        self.error: BaseException | None = None

    # -- parser callbacks -------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()
        self.headers_done = True
        # llhttp cannot be told that an answer is to a HEAD (it would wait for
        # Content-Length bytes), so a HEAD answer ends with its headers.
        if self._head:
            self.complete = True
        self._wake()

    def on_body(self, chunk: bytes) -> None:
        if self.complete:
            self.dirty = True
            return
        self.body.append(chunk)
        self.buffered += len(chunk)
        if self.buffered > _HIGH_WATER:
            self._conn.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        self.complete = True
        self._wake()

    # -- from the connection ----------------------------------------------------------

    def feed(self, data: bytes) -> None:
        if self.complete:
            self.dirty = True
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if self.complete:
                self.dirty = True
            else:
                why = str(exc) or type(exc).__name__
                self.fail(_Malformed(f"not an HTTP answer ({why})"))
            self._conn.close()

    def ended(self, exc: BaseException | None) -> None:
        """The connection is gone: an answer read to its end, or one cut short."""
        if self.complete:
            return
        if exc is not None and not isinstance(exc, ConnectionResetError | BrokenPipeError):
            self.fail(exc)
        elif not self.headers_done:
            self.fail(_Disconnected())
        elif self._ends_with_connection():
            self.complete = True
            self.keep_alive = False
            self._wake()
        else:
            self.fail(_CutShort(self._shortfall()))

    def fail(self, exc: BaseException) -> None:
        if self.error is None and not self.complete:
            self.error = exc
        self._wake()

    def _ends_with_connection(self) -> bool:
        return (
            "content-length" not in self.headers
            and "chunked" not in (self.headers.get("transfer-encoding") or "").lower()
            and self.status not in _NO_BODY_STATUS
        )

    def _shortfall(self) -> str:
        length = self.headers.get("content-length")
        if length and length.isdigit():
            return f"{self._conn.body_bytes + self.buffered} of {length} bytes"
        return "the chunked body did not end"

    # -- for the reader -----------------------------------------------------------------

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, timeout: float) -> None:
        """Until something new arrives, or ``timeout`` seconds pass without it."""
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        timer = loop.call_later(timeout, self._expire, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def _expire(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            self.fail(TimeoutError())
            self._conn.close()

    def take(self) -> bytes | None:
        """The body bytes buffered so far, or None when there are none."""
        if not self.body:
            return None
        data = self.body[0] if len(self.body) == 1 else b"".join(self.body)
        self.body.clear()
        self._conn.body_bytes += len(data)
        self.buffered = 0
        self._conn.resume_reading()
        return data


class _Connection(asyncio.Protocol):
    """One keep-alive connection; it carries one answer at a time (no pipelining)."""

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.answer: _Answer | None = None
        self.closed = False
        self.body_bytes = 0
        self._paused_reading = False
        self._drain: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.answer is None:
            # Nobody asked: a server that talks out of turn is not reused.
            self.close()
            return
        self.answer.feed(data)

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.answer is not None:
            self.answer.ended(exc)
        drain = self._drain
        if drain is not None and not drain.done():
            drain.set_exception(exc or _Disconnected())
        self.pool.forget(self)

    def pause_writing(self) -> None:
        if self._drain is None or self._drain.done():
            self._drain = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    def pause_reading(self) -> None:
        if not self._paused_reading and self.transport is not None and not self.closed:
            self._paused_reading = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self._paused_reading and self.transport is not None and not self.closed:
            self._paused_reading = False
            self.transport.resume_reading()

    async def send(self, data: bytes, content: bytes | None, timeout: float) -> None:
        """Write a request; wait while the socket's buffer is full, at most ``timeout``
        seconds without progress."""
        transport = self.transport
        assert transport is not None
        transport.write(data)
        if content:
            transport.write(content)
        while self._drain is not None and not self._drain.done():
            try:
                async with asyncio.timeout(timeout):
                    await asyncio.shield(self._drain)
            except TimeoutError:
                self.close()
                raise

    def start(self, head: bool) -> _Answer:
        self.body_bytes = 0
        self.answer = _Answer(self, head)
        return self.answer

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()
            self.pool.forget(self)


class _Pool:
    """Keep-alive connections to one origin, at most ``limit`` open at a time."""

    def __init__(self, limit: int, connect: Callable[[_Pool], Awaitable[_Connection]]) -> None:
        self.limit = limit
        self._connect = connect
        self.idle: list[_Connection] = []
        self.open: set[_Connection] = set()
        self.opening = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> tuple[_Connection, bool]:
        """A connection and whether it was used before (and so may have gone stale)."""
        while True:
            while self.idle:
                conn = self.idle.pop()
                if not conn.closed:
                    return conn, True
            if len(self.open) + self.opening < self.limit:
                self.opening += 1
                try:
                    conn = await self._connect(self)
                finally:
                    self.opening -= 1
                    self._wake_one()
                self.open.add(conn)
                return conn, False
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                elif waiter.done() and not waiter.cancelled():
                    self._wake_one()  # pass the turn on
                raise

    def release(self, conn: _Connection) -> None:
        conn.answer = None
        if conn.closed:
            return
        self.idle.append(conn)
        self._wake_one()

    def forget(self, conn: _Connection) -> None:
        if conn in self.open:
            self.open.discard(conn)
            self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def close(self) -> None:
        for conn in list(self.open):
            conn.close()
        self.idle.clear()


class Response:
    """An answer whose body is read on demand; ``aclose`` returns the connection."""

    def __init__(self, answer: _Answer, conn: _Connection, host: str, timeout: float) -> None:
        self._answer = answer
        self._conn = conn
        self._host = host
        self._timeout = timeout
        self._released = False
        self.status_code = answer.status
        self.headers: Mapping[str, str] = answer.headers
        self._body: bytes | None = None
        self._decoder = _decoder(answer.headers.get("content-encoding"))

    @property
    def is_closed(self) -> bool:
        return self._released

    async def aread(self) -> bytes:
        if self._body is None:
            self._body = b"".join([chunk async for chunk in self._chunks()])
        return self._body

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        """The body as it arrives (in the pieces the socket gives), decoded of any transfer
        or content encoding."""
        if self._body is not None:
            yield self._body
            return
        async for chunk in self._chunks():
            yield chunk

    async def _chunks(self) -> AsyncIterator[bytes]:
        answer = self._answer
        decoder = self._decoder
        while True:
            data = answer.take()
            if data is not None:
                if decoder is not None:
                    data = self._decode(decoder, data)
                if data:
                    yield data
                continue
            if answer.error is not None:
                await self.aclose()
                raise map_error(answer.error, self._host)
            if answer.complete:
                if decoder is not None:
                    tail = self._decode(decoder, None)
                    if tail:
                        yield tail
                await self.aclose()
                return
            if self._released:
                raise NetworkError(
                    f"{self._host}: the answer was closed before it was read", host=self._host
                )
            await answer.wait(self._timeout)

    def _decode(self, decoder: zlib._Decompress, data: bytes | None) -> bytes:
        try:
            if data is None:
                if decoder.eof:
                    return decoder.flush()
                why = "the answer's compressed body ended early"
            else:
                return decoder.decompress(data)
        except zlib.error as exc:
            why = f"the answer's compressed body is corrupt ({exc})"
        self._conn.close()
        raise NetworkError(f"{self._host}: {why}", host=self._host, reason=why)

    async def aclose(self) -> None:
        """Back to the pool when the body was read (or there is none), else closed."""
        if self._released:
            return
        self._released = True
        answer, conn = self._answer, self._conn
        if answer.complete and answer.keep_alive and not answer.dirty and answer.error is None:
            conn.pool.release(conn)
        else:
            conn.close()


async def _addresses(
    loop: asyncio.AbstractEventLoop, hostname: str, port: int
) -> list[tuple[int, tuple]]:
    """The socket addresses of a host; a literal IP address needs no lookup (nor a thread)."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, hostname)
        except OSError:
            continue
        return [(family, (hostname, port))]
    infos = await loop.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    if not infos:
        raise socket.gaierror(socket.EAI_NONAME, "no address")
    return [(family, sockaddr) for family, _, _, _, sockaddr in infos]


def _decoder(encoding: str | None) -> zlib._Decompress | None:
    if not encoding:
        return None
    encoding = encoding.strip().lower()
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(zlib.MAX_WBITS)
    return None


class HttpClient:
    """Keep-alive pools per origin for all registries; TLS settings are chosen per request."""

    def __init__(self, timeout: float, user_agent: str, ca_file: str | None, per_host: int) -> None:
        self._timeout = timeout
        self._user_agent = user_agent
        self._ca_file = ca_file
        self._per_host = per_host
        self._verified: ssl.SSLContext | None = None
        self._unverified: ssl.SSLContext | None = None
        self._pools: dict[tuple[str, str, int, bool], _Pool] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def _ssl(self, verify: bool) -> ssl.SSLContext:
        """One context of each kind, built on the first TLS connection that needs it:
        loading the system CAs costs ~30 ms, which a plain-HTTP registry never pays."""
        if not verify:
            if self._unverified is None:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                self._unverified = ctx
            return self._unverified
        if self._verified is None:
            ctx = ssl.create_default_context()
            if self._ca_file:
                try:
                    ctx.load_verify_locations(cafile=self._ca_file)
                except OSError as exc:
                    # The caller's file, not the registry, is at fault: a usage error.
                    why = (
                        "not a PEM file of certificates"
                        if isinstance(exc, ssl.SSLError)
                        else f"cannot read: {exc.strerror}"
                    )
                    raise UsageError(f"--ca-file {self._ca_file}: {why}") from None
            self._verified = ctx
        return self._verified

    def _pool(self, scheme: str, hostname: str, port: int, verify: bool) -> _Pool:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # Connections belong to the loop that opened them.
            self._drop_pools()
            self._loop = loop
        key = (scheme, hostname, port, verify)
        pool = self._pools.get(key)
        if pool is None:
            tls = self._ssl(verify) if scheme == "https" else None

            def connect(p: _Pool) -> Awaitable[_Connection]:
                return self._connect(p, hostname, port, tls)

            pool = self._pools[key] = _Pool(self._per_host, connect)
        return pool

    async def _connect(
        self, pool: _Pool, hostname: str, port: int, tls: ssl.SSLContext | None
    ) -> _Connection:
        """Each address in turn; when all fail, the first failure (refused, unreachable)
        is the one reported, with its type intact."""
        loop = asyncio.get_running_loop()
        first: OSError | None = None
        async with asyncio.timeout(self._timeout):
            for family, address in await _addresses(loop, hostname, port):
                try:
                    _, conn = await loop.create_connection(
                        lambda: _Connection(pool),
                        address[0],
                        address[1],
                        family=family,
                        ssl=tls,
                        server_hostname=hostname if tls is not None else None,
                    )
                except ssl.SSLError:
                    raise
                except OSError as exc:
                    first = first or exc
                    continue
                return conn
        assert first is not None
        raise first

    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None,
        verify: bool,
        host: str,
    ) -> Response:
        parts = urlsplit(url)
        try:
            hostname = parts.hostname or ""
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise NetworkError(f"{host}: not a valid address", host=host) from None
        request = self._request_head(method, parts, headers, content, host)
        try:
            pool = self._pool(parts.scheme, hostname, port, verify)
            while True:
                conn, reused = await pool.acquire()
                try:
                    return await self._exchange(conn, method, request, content, host)
                except _Disconnected:
                    # A kept-alive connection the server had already closed: ask again on
                    # a new one, where that is safe.
                    if not (reused and method in _IDEMPOTENT):
                        raise
        except (NetworkError, UsageError):
            raise
        except Exception as exc:
            raise map_error(exc, host) from None

    async def _exchange(
        self, conn: _Connection, method: str, request: bytes, content: bytes | None, host: str
    ) -> Response:
        answer = conn.start(method == "HEAD")
        try:
            await conn.send(request, content, self._timeout)
            while not answer.headers_done and answer.error is None:
                await answer.wait(self._timeout)
        except BaseException:
            conn.close()
            raise
        if answer.error is not None:
            conn.close()
            raise answer.error
        return Response(answer, conn, host, self._timeout)

    def _request_head(
        self,
        method: str,
        parts: SplitResult,
        headers: Mapping[str, str],
        content: bytes | None,
        host: str,
    ) -> bytes:
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        lines = [
            f"{method} {target} HTTP/1.1",
            f"Host: {parts.netloc}",
            f"User-Agent: {self._user_agent}",
            "Accept-Encoding: gzip, deflate",
        ]
        lines.extend(f"{name}: {value}" for name, value in headers.items())
        if content is not None:
            lines.append(f"Content-Length: {len(content)}")
        elif method in _BODY_METHODS:
            lines.append("Content-Length: 0")
        if any("\r" in line or "\n" in line for line in lines):
            # A line break would let a value (a token a server sent) add headers of its own.
            raise NetworkError(f"{host}: refusing to send a header with a line break", host=host)
        try:
            return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        except UnicodeEncodeError:
            raise NetworkError(
                f"{host}: refusing to send a header that is not Latin-1 text", host=host
            ) from None

    def _drop_pools(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()

    async def aclose(self) -> None:
        self._drop_pools()
        self._loop = None


def map_error(exc: BaseException, host: str) -> NetworkError:
    """Turn a client exception into the library's error, with a reason a user can act on."""
    if isinstance(exc, NetworkError):
        return exc

    def unreachable(why: str, cause: str | None = None) -> NetworkError:
        return NetworkError(
            f"cannot reach {host}: {why}", host=host, reason=f"cannot reach: {why}", cause=cause
        )

    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return RegistryTimeoutError(
            f"{host} did not answer in time", host=host, reason="did not answer in time"
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return unreachable(
            "TLS certificate not trusted (pass --ca-file, or --insecure HOST for a test registry)",
            "certificate",
        )
    if isinstance(exc, ssl.SSLError):
        return unreachable(
            f"TLS handshake failed (a plain-HTTP registry? declare it with --insecure {host})"
        )
    if isinstance(exc, socket.gaierror):
        return unreachable("unknown host (DNS lookup failed)", "dns")
    if isinstance(exc, ConnectionRefusedError):
        return unreachable("connection refused", "refused")
    if isinstance(exc, _Disconnected | ConnectionResetError | BrokenPipeError):
        return NetworkError(
            f"{host} closed the connection before answering",
            host=host,
            reason="closed the connection before answering",
        )
    if isinstance(exc, _CutShort):
        return NetworkError(
            f"{host}: the answer was cut short ({exc})",
            host=host,
            reason=f"the answer was cut short ({exc})",
        )
    if isinstance(exc, _Malformed):
        return NetworkError(f"{host}: {exc}", host=host, reason=str(exc))
    if isinstance(exc, OSError):
        text = exc.strerror or (str(exc).splitlines()[0][:200] if str(exc) else "")
        return unreachable(text or type(exc).__name__)
    raise exc
