"""A reverse proxy in front of a real registry that counts requests and injects faults.

A real registry never sends a tampered manifest, a 429, or a redirect to another host
on demand; this proxy does, while forwarding everything else untouched (bodies streamed,
headers kept, upload ``Location`` URLs rewritten to point back at the proxy). Faults are
``Fault`` records matched by method and path regex, optionally limited to the first
``times`` matching requests, and can be added and removed while clients are running.

The proxy speaks plain HTTP by default even when the registry behind it is TLS (or TLS
itself with the harness CA when ``tls=True``), keeps connections alive, and serves each
connection in its own thread so benchmarks can push hundreds of concurrent requests.

A ``redirect_to`` fault usually points at a ``RecorderServer`` (``recorder.py``).
"""

from __future__ import annotations

import collections
import gzip
import hashlib
import json
import re
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Literal, NamedTuple
from urllib.parse import urlsplit

import httpx

from .client import Endpoint
from .httpserver import QuietHandler, ThreadedServer
from .tls import TestCA, verify_for

FaultKind = Literal[
    "tamper_body",
    "drop_header",
    "method_not_allowed",
    "status_then_ok",
    "stall",
    "delay",
    "redirect_to",
    "truncate",
    "set_header",
    "replace_body",
    "reframe",
    "hang_up",
    "garbage",
]
# How a ``reframe`` fault sends a body: legal HTTP/1.1 framings and encodings the
# distribution registry does not use for manifests, and two broken ones.
Framing = Literal["chunked", "close", "gzip", "deflate", "chunked_cut", "gzip_cut"]
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
    }
)
_HTTPX_DEFAULTS = ("accept", "accept-encoding", "user-agent")
_DIGEST_IN_BODY = re.compile(rb"sha256:[0-9a-f]{64}")
_ERROR_CODES = {
    401: "UNAUTHORIZED",
    403: "DENIED",
    404: "NAME_UNKNOWN",
    405: "UNSUPPORTED",
    429: "TOOMANYREQUESTS",
}


@dataclass(eq=False)
class Fault:
    """One switchable misbehaviour; see ``FaultProxy``'s helper methods for each kind."""

    kind: FaultKind
    path: str | None = None
    method: str | tuple[str, ...] | None = None
    times: int | None = None
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    header: str = ""
    delay_ms: float = 0.0
    phase: Literal["headers", "body"] = "headers"
    target: str = ""
    keep: float = 0.5
    honest_length: bool = False
    offset: int | None = None
    max_stall: float = 60.0
    body: bytes = b""
    framing: Framing = "chunked"
    hits: int = 0
    released: threading.Event = field(default_factory=threading.Event, repr=False)

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None:
            methods = (self.method,) if isinstance(self.method, str) else self.method
            if method not in methods:
                return False
        return self.path is None or re.search(self.path, path) is not None


class ProxiedRequest(NamedTuple):
    """One request as the proxy received it (before any fault was applied)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]


def tamper(data: bytes, offset: int | None = None) -> bytes:
    """Change one byte: inside the first ``sha256:`` digest if any (JSON stays valid)."""
    if not data:
        return data
    if offset is None:
        match = _DIGEST_IN_BODY.search(data)
        if match:
            index = match.end() - 1
            replacement = b"0" if data[index : index + 1] != b"0" else b"1"
            return data[:index] + replacement + data[index + 1 :]
        offset = len(data) // 2
    changed = bytearray(data)
    changed[offset] ^= 0x01
    return bytes(changed)


class FaultProxy:
    """Reverse proxy for one registry; ``url`` is what clients should talk to."""

    def __init__(
        self,
        upstream: Endpoint,
        *,
        tls: bool = False,
        ca: TestCA | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.upstream = upstream
        self.tls = tls
        self._own_ca = tls and ca is None
        self.ca = ca if ca is not None else (TestCA() if tls else None)
        self.requests: list[ProxiedRequest] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._client = httpx.Client(
            verify=verify_for(upstream.ca_file),
            timeout=timeout,
            limits=httpx.Limits(max_connections=128, max_keepalive_connections=128),
        )
        self._server: ThreadedServer | None = None

    # -- identity (an Endpoint, so harness pushes work through the proxy) ---------
    @property
    def host(self) -> str:
        if self._server is None:
            raise RuntimeError("proxy is not running")
        return f"127.0.0.1:{self._server.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def ca_file(self) -> str | None:
        return self.ca.ca_file if self.tls and self.ca is not None else None

    @property
    def username(self) -> str | None:
        return self.upstream.username

    @property
    def password(self) -> str | None:
        return self.upstream.password

    @property
    def token_server(self) -> object:
        return getattr(self.upstream, "token_server", None)

    def __repr__(self) -> str:
        return f"FaultProxy(url={self.url!r}, upstream={self.upstream.url!r})"

    # -- lifecycle ----------------------------------------------------------------
    def start(self) -> FaultProxy:
        context = self.ca.server_context() if self.tls and self.ca is not None else None
        self._stopping.clear()
        self._server = ThreadedServer(_make_handler(self), ssl_context=context)
        self._server.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.clear()
        if self._server is not None:
            self._server.stop()
            self._server = None
        self._client.close()
        if self._own_ca and self.ca is not None:
            self.ca.cleanup()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- counting -----------------------------------------------------------------
    def count(self, method: str | None = None, path: str | None = None) -> int:
        """Requests received, optionally only those with ``method`` and a path matching."""
        pattern = re.compile(path) if path else None
        with self._lock:
            return sum(
                1
                for r in self.requests
                if (method is None or r.method == method)
                and (pattern is None or pattern.search(r.path))
            )

    @property
    def connections(self) -> int:
        """TCP connections accepted, counting ones that never sent an HTTP request (TLS)."""
        return self._server.connections if self._server is not None else 0

    def counts(self) -> collections.Counter[tuple[str, str]]:
        """``Counter`` of ``(method, path)``."""
        with self._lock:
            return collections.Counter((r.method, r.path) for r in self.requests)

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- faults -------------------------------------------------------------------
    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        with self._lock:
            if fault in self._faults:
                self._faults.remove(fault)
        fault.released.set()

    def clear(self) -> None:
        """Remove every fault and release every stalled connection."""
        with self._lock:
            faults, self._faults = self._faults, []
        for fault in faults:
            fault.released.set()

    @property
    def faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def tamper_body(
        self,
        path: str | None = None,
        method: str | tuple[str, ...] | None = "GET",
        times: int | None = None,
        offset: int | None = None,
    ) -> Fault:
        """Change one byte of matching response bodies (see ``tamper``)."""
        return self.add(Fault("tamper_body", path, method, times, offset=offset))

    def drop_header(
        self,
        header: str = "Docker-Content-Digest",
        path: str | None = None,
        method: str | tuple[str, ...] | None = None,
        times: int | None = None,
    ) -> Fault:
        """Remove a response header (case-insensitive)."""
        return self.add(Fault("drop_header", path, method, times, header=header))

    def set_header(
        self,
        header: str,
        value: str,
        path: str | None = None,
        method: str | tuple[str, ...] | None = None,
        times: int | None = None,
    ) -> Fault:
        """Answer with ``header: value`` in place of whatever the registry sent."""
        return self.add(Fault("set_header", path, method, times, header=header, target=value))

    def lie_digest(
        self,
        digest: str,
        path: str | None = r"/manifests/",
        method: str | tuple[str, ...] | None = "HEAD",
        times: int | None = None,
    ) -> Fault:
        """Announce ``digest`` in Docker-Content-Digest, as a lying or broken registry would."""
        return self.set_header("Docker-Content-Digest", digest, path, method, times)

    def method_not_allowed(
        self, method: str = "HEAD", path: str | None = None, times: int | None = None
    ) -> Fault:
        """Answer ``method`` with 405, as some registries and mirrors do for HEAD."""
        return self.add(Fault("method_not_allowed", path, method, times, status=405))

    def status_then_ok(
        self,
        status: int = 429,
        times: int = 1,
        path: str | None = None,
        method: str | tuple[str, ...] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Fault:
        """Answer the first ``times`` matching requests with ``status``, then forward.

        A 429 gets ``Retry-After: 1`` unless ``headers`` says otherwise.
        """
        if headers is None:
            headers = {"Retry-After": "1"} if status == 429 else {}
        return self.add(
            Fault("status_then_ok", path, method, times, status=status, headers=headers)
        )

    def stall(
        self,
        phase: Literal["headers", "body"] = "headers",
        path: str | None = None,
        method: str | tuple[str, ...] | None = None,
        times: int | None = None,
        max_stall: float = 60.0,
    ) -> Fault:
        """Never answer (``headers``) or answer headers and half the body, then hang (``body``).

        The connection is released when the fault is removed, the proxy stops, or after
        ``max_stall`` seconds.
        """
        return self.add(Fault("stall", path, method, times, phase=phase, max_stall=max_stall))

    def delay(
        self,
        ms: float,
        path: str | None = None,
        method: str | tuple[str, ...] | None = None,
    ) -> Fault:
        """Add ``ms`` milliseconds before every matching response."""
        return self.add(Fault("delay", path, method, delay_ms=ms))

    def redirect_to(
        self,
        target: str,
        path: str | None = r"/blobs/sha256:",
        method: str | tuple[str, ...] | None = ("GET", "HEAD"),
        times: int | None = None,
        status: int = 307,
    ) -> Fault:
        """Redirect matching requests to ``target`` + the same path and query."""
        return self.add(
            Fault("redirect_to", path, method, times, status=status, target=target.rstrip("/"))
        )

    def truncate(
        self,
        path: str | None = None,
        method: str | tuple[str, ...] | None = "GET",
        keep: float = 0.5,
        honest_length: bool = False,
        times: int | None = None,
    ) -> Fault:
        """Send only ``keep`` of the body: with the full Content-Length then hang up, or
        (``honest_length=True``) with a Content-Length that matches the short body."""
        return self.add(
            Fault("truncate", path, method, times, keep=keep, honest_length=honest_length)
        )

    def replace_body(
        self,
        body: bytes,
        path: str | None = None,
        method: str | tuple[str, ...] | None = ("GET", "HEAD"),
        times: int | None = None,
    ) -> Fault:
        """Serve ``body`` instead of what the registry sent, with a Docker-Content-Digest
        and Content-Length that match it: a registry (or mirror) that consistently serves
        other content under a tag, as an attacker with write access to it would."""
        return self.add(Fault("replace_body", path, method, times, body=body))

    def reframe(
        self,
        framing: Framing,
        path: str | None = None,
        method: str | tuple[str, ...] | None = "GET",
        times: int | None = None,
    ) -> Fault:
        """Send the registry's body with another framing: ``chunked`` (in 1,000-byte
        chunks), ``close`` (no length: the body ends when the connection does), ``gzip`` or
        ``deflate`` (Content-Encoding); or broken: ``chunked_cut`` (half the chunks, then
        hang up) and ``gzip_cut`` (a gzip stream missing its end, with an honest length)."""
        return self.add(Fault("reframe", path, method, times, framing=framing))

    def hang_up(
        self,
        path: str | None = None,
        method: str | tuple[str, ...] | None = None,
        times: int | None = 1,
    ) -> Fault:
        """Read the request, then close the connection without a word, as a server does
        when it drops a kept-alive connection just as a request arrives."""
        return self.add(Fault("hang_up", path, method, times))

    def garbage(
        self,
        body: bytes = b"SSH-2.0-OpenSSH_9.2\r\n",
        path: str | None = None,
        method: str | tuple[str, ...] | None = None,
        times: int | None = None,
    ) -> Fault:
        """Answer with ``body``, which is not HTTP, and close the connection."""
        return self.add(Fault("garbage", path, method, times, body=body))

    # -- request path -------------------------------------------------------------
    def _take_faults(self, method: str, path: str) -> list[Fault]:
        """Faults that apply to this request; each one's ``times`` budget is spent here."""
        taken = []
        with self._lock:
            for fault in self._faults:
                if not fault.matches(method, path):
                    continue
                if fault.times is not None and fault.hits >= fault.times:
                    continue
                fault.hits += 1
                taken.append(fault)
        return taken

    def _record(self, request: ProxiedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _rewrite_location(self, value: str) -> str:
        upstream = self.upstream.url.rstrip("/")
        if value.startswith(upstream):
            return self.url + value[len(upstream) :]
        return value

    def _wait(self, fault: Fault) -> None:
        deadline = time.monotonic() + fault.max_stall
        while not (fault.released.is_set() or self._stopping.is_set()):
            if time.monotonic() >= deadline:
                return
            fault.released.wait(0.05)


def _error_body(status: int) -> bytes:
    code = _ERROR_CODES.get(status, "UNAVAILABLE" if status >= 500 else "UNKNOWN")
    return json.dumps(
        {"errors": [{"code": code, "message": f"injected HTTP {status}", "detail": None}]}
    ).encode()


def _make_handler(proxy: FaultProxy) -> type[QuietHandler]:
    class ProxyHandler(QuietHandler):
        def do_GET(self) -> None:
            self._handle()

        do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

        def _handle(self) -> None:
            try:
                self._proxy()
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                self.close_connection = True

        def _proxy(self) -> None:
            parts = urlsplit(self.path)
            method, path, query = self.command, parts.path, parts.query
            body = self.read_request_body()
            proxy._record(ProxiedRequest(method, path, query, dict(self.headers.items())))
            faults = proxy._take_faults(method, path)
            kinds: dict[str, Fault] = {}
            for fault in faults:
                kinds.setdefault(fault.kind, fault)
                if fault.kind == "delay":
                    time.sleep(fault.delay_ms / 1000)
            if "hang_up" in kinds:
                self.close_connection = True
                return
            if "garbage" in kinds:
                self.wfile.write(kinds["garbage"].body)
                self.close_connection = True
                return
            stall = kinds.get("stall")
            if stall is not None and stall.phase == "headers":
                proxy._wait(stall)
                self.close_connection = True
                return
            if "method_not_allowed" in kinds:
                self.send_simple(405, _error_body(405), headers={"Allow": "GET"})
                return
            if "status_then_ok" in kinds:
                fault = kinds["status_then_ok"]
                self.send_simple(fault.status, _error_body(fault.status), headers=fault.headers)
                return
            if "redirect_to" in kinds:
                fault = kinds["redirect_to"]
                location = fault.target + path + (f"?{query}" if query else "")
                self.send_simple(fault.status, b"", headers={"Location": location})
                return
            self._forward(method, body, faults)

        def _forward(self, method: str, body: bytes, faults: list[Fault]) -> None:
            target = self.path if self.path.startswith("/") else urlsplit(self.path).path
            sent = {k.lower() for k in self.headers}
            request = proxy._client.build_request(
                method,
                proxy.upstream.url.rstrip("/") + target,
                headers=[
                    (k, v)
                    for k, v in self.headers.items()
                    if k.lower() not in HOP_BY_HOP and k.lower() not in ("host", "content-length")
                ],
                content=body if body or method in ("POST", "PUT", "PATCH") else None,
            )
            for name in _HTTPX_DEFAULTS:
                if name not in sent and name in request.headers:
                    del request.headers[name]
            try:
                response = proxy._client.send(request, stream=True)
            except httpx.HTTPError as error:
                self.send_simple(502, json.dumps({"proxy_error": type(error).__name__}).encode())
                return
            try:
                self._relay(method, response, faults)
            finally:
                response.close()

        def _relay(self, method: str, response: httpx.Response, faults: list[Fault]) -> None:
            kinds = {f.kind: f for f in reversed(faults)}
            replaced = [(f.header, f.target) for f in faults if f.kind == "set_header"]
            dropped = {f.header.lower() for f in faults if f.kind == "drop_header"}
            dropped |= {name.lower() for name, _ in replaced}
            headers = [
                (k, proxy._rewrite_location(v) if k.lower() == "location" else v)
                for k, v in response.headers.multi_items()
                if k.lower() not in HOP_BY_HOP and k.lower() not in dropped
            ]
            headers.extend(replaced)
            bodiless = method == "HEAD" or response.status_code in (204, 304)
            length = response.headers.get("Content-Length")
            stream = (
                not bodiless
                and length is not None
                and not ({"tamper_body", "truncate", "stall", "reframe"} & kinds.keys())
            )
            data = b""
            status = response.status_code
            if "replace_body" in kinds:
                data, status = kinds["replace_body"].body, 200
                headers = [(k, v) for k, v in headers if k.lower() != "docker-content-digest"]
                announced_digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
                headers.append(("Docker-Content-Digest", announced_digest))
                stream = False
                if bodiless:
                    headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                    headers.append(("Content-Length", str(len(data))))
            elif not bodiless and not stream:
                data = b"".join(response.iter_raw())
                if "tamper_body" in kinds:
                    data = tamper(data, kinds["tamper_body"].offset)
            announced = len(data)
            if "truncate" in kinds:
                fault = kinds["truncate"]
                data = data[: int(len(data) * fault.keep)]
                if fault.honest_length:
                    announced = len(data)
            reframe = kinds.get("reframe")
            if reframe is not None and not bodiless:
                self._send_reframed(status, headers, data, reframe.framing)
                return
            if not bodiless and not stream:
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                headers.append(("Content-Length", str(announced)))
            self.send_response_only(status)
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            if bodiless:
                return
            if stream:
                for chunk in response.iter_raw():
                    self.wfile.write(chunk)
                return
            stall = kinds.get("stall")
            if stall is not None:
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                proxy._wait(stall)
                self.close_connection = True
                return
            self.wfile.write(data)
            if len(data) != announced:
                self.close_connection = True

        def _send_reframed(
            self, status: int, headers: list[tuple[str, str]], data: bytes, framing: Framing
        ) -> None:
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            if framing in ("gzip", "gzip_cut"):
                data = gzip.compress(data)
                if framing == "gzip_cut":
                    data = data[:-8]  # no CRC, no length: the stream does not end
                headers += [("Content-Encoding", "gzip"), ("Content-Length", str(len(data)))]
            elif framing == "deflate":
                data = zlib.compress(data)
                headers += [("Content-Encoding", "deflate"), ("Content-Length", str(len(data)))]
            elif framing == "close":
                headers.append(("Connection", "close"))
            else:
                headers.append(("Transfer-Encoding", "chunked"))
            self.send_response_only(status)
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            if framing in ("chunked", "chunked_cut"):
                pieces = [data[i : i + 1000] for i in range(0, len(data), 1000)]
                if framing == "chunked_cut":
                    pieces = pieces[: max(1, len(pieces) // 2)]
                for piece in pieces:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                if framing == "chunked":
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.close_connection = True
                return
            self.wfile.write(data)
            if framing == "close":
                self.close_connection = True

    return ProxyHandler
