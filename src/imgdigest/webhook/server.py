"""Serve an ASGI app over HTTPS with uvicorn, following certificate rotation.

uvicorn with httptools and uvloop (when installed) is the stack: a C HTTP parser and
a libuv event loop keep the per-request cost of a small JSON exchange well under a
millisecond on one core, and Kubernetes scales the webhook by replicas, not by workers
in one Pod, so one process with one event loop is the whole server. HTTPS only: the
listening context comes from ``ReloadingTLS``, which hands every handshake to the
newest certificate on disk. Keep-alive outlasts the API server's idle timeout (90 s),
so it is the client that closes idle connections and no request races a close. Every
other wait is bounded by ``guard``: the handshake, the headers and the body of a
request (10 s each), so a slow or silent client cannot hold a connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import uvicorn

from imgdigest.errors import UsageError
from imgdigest.webhook.guard import GuardedHttpToolsProtocol, bounded_loop_factory
from imgdigest.webhook.tlsreload import ReloadingTLS

KEEP_ALIVE_SECONDS = 120


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[IPv6]:PORT`` or ``:PORT`` (all addresses)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise UsageError(f"--listen {text!r}: expected HOST:PORT, e.g. 0.0.0.0:8443")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


def make_server(
    app: Any, listen: str, tls: ReloadingTLS, log_level: str = "info"
) -> uvicorn.Server:
    host, port = parse_listen(listen)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        ssl_certfile=str(tls.cert_file),
        ssl_keyfile=str(tls.key_file),
        http=GuardedHttpToolsProtocol,
        lifespan="on",
        log_level=log_level,
        access_log=False,
        server_header=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=15,
    )
    config.load()
    config.ssl = tls.context  # the dispatching context, instead of a fixed pair
    return uvicorn.Server(config)


def serve(app: Any, listen: str, tls: ReloadingTLS, log_level: str = "info") -> int:
    """Run until SIGTERM/SIGINT; 0 on a clean stop, 1 when the server could not start."""
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    server = make_server(app, listen, tls, log_level)

    async def main() -> None:
        watcher = asyncio.create_task(tls.watch())
        try:
            await server.serve()
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    with asyncio.Runner(loop_factory=bounded_loop_factory()) as runner:
        runner.run(main())
    return 0 if server.started else 1
