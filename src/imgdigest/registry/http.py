"""The HTTP client underneath the transport: aiohttp, wrapped in a small response type.

aiohttp parses HTTP in C and keeps its connection pool cheap to consult, so a batch of
HEAD requests costs well under a millisecond of client CPU each; the registry's own
work dominates. Everything above this module sees only ``Response`` (``status_code``,
case-insensitive ``headers``, ``aread``, ``aiter_raw``, ``aclose``) and the library's
own errors: no aiohttp exception escapes, so callers catch ``NetworkError``.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING

from imgdigest.errors import NetworkError, RegistryTimeoutError, UsageError

if TYPE_CHECKING:
    import aiohttp

# aiohttp is imported on first use: offline commands (ref, check, policy) start faster.

_CHUNK = 256 * 1024


class Response:
    """An answer whose body is read on demand; ``aclose`` returns the connection."""

    def __init__(self, raw: aiohttp.ClientResponse, host: str) -> None:
        self._raw = raw
        self._host = host
        self.status_code = raw.status
        self.headers: Mapping[str, str] = raw.headers
        self._body: bytes | None = None

    @property
    def is_closed(self) -> bool:
        return self._raw.closed

    async def aread(self) -> bytes:
        if self._body is None:
            try:
                self._body = await self._raw.read()
            except Exception as exc:
                raise map_error(exc, self._host) from None
        return self._body

    async def aiter_raw(self, chunk_size: int = _CHUNK) -> AsyncIterator[bytes]:
        """The body as it arrives, decoded of any transfer or content encoding."""
        if self._body is not None:
            yield self._body
            return
        try:
            async for chunk in self._raw.content.iter_chunked(chunk_size):
                yield chunk
        except Exception as exc:
            raise map_error(exc, self._host) from None

    async def aclose(self) -> None:
        """Back to the pool when the body was read (or there is none), else closed."""
        self._raw.release()


class HttpClient:
    """One aiohttp session for all registries; TLS settings are chosen per request."""

    def __init__(self, timeout: float, user_agent: str, ca_file: str | None, per_host: int) -> None:
        self._timeout_seconds = timeout
        self._user_agent = user_agent
        self._ca_file = ca_file
        self._per_host = per_host
        self._verified: ssl.SSLContext | None = None
        self._session: aiohttp.ClientSession | None = None

    def _ssl(self, verify: bool) -> ssl.SSLContext | bool:
        if not verify:
            return False
        if not self._ca_file:
            # aiohttp builds a verifying context with the system CAs when it is imported;
            # building a second one would cost another ~30 ms on the first TLS request.
            return True
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

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            import aiohttp

            t = self._timeout_seconds
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=self._per_host)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=t, sock_read=t, connect=t),
                headers={"User-Agent": self._user_agent},
                auto_decompress=True,
            )
        return self._session

    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None,
        verify: bool,
        host: str,
    ) -> Response:
        from yarl import URL

        try:
            raw = await self._get_session().request(
                method,
                URL(url, encoded=True),
                headers=dict(headers),
                data=content,
                allow_redirects=False,
                # Plain HTTP needs no TLS context: loading the system CAs costs ~30 ms.
                ssl=self._ssl(verify) if url.startswith("https:") else False,
            )
        except Exception as exc:
            raise map_error(exc, host) from None
        return Response(raw, host)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def map_error(exc: BaseException, host: str) -> NetworkError:
    """Turn a client exception into the library's error, with a reason a user can act on."""
    import aiohttp

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
    # aiohttp wraps a failed verification; a bare one is the same news.
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | ssl.SSLCertVerificationError):
        return unreachable(
            "TLS certificate not trusted (pass --ca-file, or --insecure HOST for a test registry)",
            "certificate",
        )
    if isinstance(exc, aiohttp.ClientConnectorSSLError | aiohttp.ClientSSLError | ssl.SSLError):
        return unreachable(
            f"TLS handshake failed (a plain-HTTP registry? declare it with --insecure {host})"
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        if isinstance(os_error, socket.gaierror):
            return unreachable("unknown host (DNS lookup failed)", "dns")
        if isinstance(os_error, ConnectionRefusedError):
            return unreachable("connection refused", "refused")
        return unreachable(str(os_error.strerror or os_error))
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return NetworkError(
            f"{host} closed the connection before answering",
            host=host,
            reason="closed the connection before answering",
        )
    if isinstance(exc, aiohttp.ClientPayloadError):
        return NetworkError(
            f"{host}: the answer was cut short ({exc})",
            host=host,
            reason=f"the answer was cut short ({exc})",
        )
    if isinstance(exc, aiohttp.ClientError | OSError):
        text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return unreachable(text)
    raise exc
