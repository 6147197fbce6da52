"""The threaded HTTP(S) server every harness-side endpoint is built on.

``http.server`` is enough for a test double, provided three things are fixed that its
defaults get wrong for a client test: TLS handshakes happen in the per-connection thread
(so one slow client cannot block ``accept``), Nagle is disabled (or a small header write
followed by a small body write waits 40 ms on delayed ACKs, which would swamp benchmark
timings), and the listen backlog is large enough for hundreds of concurrent clients.
"""

from __future__ import annotations

import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive handler that never writes to stderr."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "imgdigest-harness"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_simple(
        self,
        status: int,
        body: bytes = b"",
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        content_length: int | None = None,
    ) -> None:
        """Send a complete response; ``content_length`` overrides it for HEAD answers."""
        self.send_response(status)
        if body or self.command != "HEAD" or content_length:
            self.send_header("Content-Type", content_type)
        self.send_header(
            "Content-Length", str(len(body) if content_length is None else content_length)
        )
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def read_request_body(self) -> bytes:
        """The request body, whether sent with Content-Length or chunked."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""


class ThreadedServer(ThreadingHTTPServer):
    """A ``ThreadingHTTPServer`` on 127.0.0.1 with optional TLS, run in a daemon thread."""

    daemon_threads = True
    request_queue_size = 512
    allow_reuse_address = True
    block_on_close = False

    def __init__(
        self,
        handler: type[BaseHTTPRequestHandler],
        ssl_context: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.ssl_context = ssl_context
        super().__init__((host, port), handler)
        self._thread: threading.Thread | None = None
        self._connections = 0
        self._connections_lock = threading.Lock()

    @property
    def connections(self) -> int:
        """Connections accepted so far, whatever was sent on them (a TLS probe counts)."""
        with self._connections_lock:
            return self._connections

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections += 1
        super().process_request(request, client_address)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def scheme(self) -> str:
        return "https" if self.ssl_context else "http"

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        # wrap_socket takes the descriptor over, so the wrapper is what must be closed.
        request.settimeout(30)
        try:
            wrapped = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        try:
            wrapped.settimeout(None)
            super().finish_request(wrapped, client_address)
        finally:
            self.shutdown_request(wrapped)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients of a fault-injecting server hang up mid-response on purpose.
        pass

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
