"""The "other host" a redirect points at, recording exactly what it received.

Registries often answer blob GETs with a redirect to a storage backend on another host.
A client must not carry the registry's Authorization header there. ``RecorderServer``
listens on 127.0.0.1 but is addressed as ``localhost`` (a different origin from the
registry's ``127.0.0.1``), records every request's headers so a test can prove no
credentials followed the redirect, and serves the content by fetching it from the
registry with the harness's own credentials, like a storage backend behind a signed URL.
"""

from __future__ import annotations

import re
import threading
from typing import NamedTuple
from urllib.parse import urlsplit

from .client import Endpoint, RegistryClient
from .httpserver import QuietHandler, ThreadedServer


class RecordedRequest(NamedTuple):
    method: str
    path: str
    query: str
    headers: dict[str, str]


class RecorderServer:
    """A second host (``localhost`` rather than ``127.0.0.1``) that records what it receives.

    With an ``upstream`` it serves GET/HEAD by fetching the same path from that registry
    with the harness's own credentials; otherwise it answers ``status`` / ``body``.
    """

    def __init__(
        self,
        upstream: Endpoint | None = None,
        *,
        host_name: str = "localhost",
        status: int = 200,
        body: bytes = b"",
    ) -> None:
        self.upstream = upstream
        self.host_name = host_name
        self.status = status
        self.body = body
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._client = RegistryClient(upstream) if upstream is not None else None
        self._server: ThreadedServer | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("recorder is not running")
        return f"http://{self.host_name}:{self._server.port}"

    def authorization_headers(self) -> list[str]:
        """Every Authorization header value received (should be empty after redirects)."""
        with self._lock:
            return [
                value
                for r in self.requests
                for name, value in r.headers.items()
                if name.lower() == "authorization"
            ]

    def start(self) -> RecorderServer:
        self._server = ThreadedServer(_make_recorder_handler(self))
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._client is not None:
            self._client.close()

    def __enter__(self) -> RecorderServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _answer(self, method: str, path: str, query: str) -> tuple[int, dict[str, str], bytes]:
        if self._client is None:
            return self.status, {}, self.body
        repo = _repo_of(path)
        response = self._client.request(method, path + (f"?{query}" if query else ""), repo=repo)
        keep = ("content-type", "content-length", "docker-content-digest", "etag")
        headers = {k: v for k, v in response.headers.items() if k.lower() in keep}
        return response.status_code, headers, response.content


def _repo_of(path: str) -> str:
    match = re.match(r"/v2/(.+)/(blobs|manifests|tags)/", path)
    return match.group(1) if match else ""


def _make_recorder_handler(recorder: RecorderServer) -> type[QuietHandler]:
    class RecorderHandler(QuietHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            self.read_request_body()
            with recorder._lock:
                recorder.requests.append(
                    RecordedRequest(
                        self.command, parts.path, parts.query, dict(self.headers.items())
                    )
                )
            status, headers, body = recorder._answer(self.command, parts.path, parts.query)
            content_type = headers.pop("content-type", "application/octet-stream")
            length = headers.pop("content-length", None)
            self.send_simple(
                status,
                body,
                content_type=content_type,
                headers=headers,
                content_length=int(length) if length and self.command == "HEAD" else None,
            )

        do_HEAD = do_POST = do_PUT = do_GET

    return RecorderHandler
