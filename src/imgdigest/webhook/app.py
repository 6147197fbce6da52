"""The webhook as an ASGI application: five fixed routes, nothing between them and the work.

A plain ASGI callable rather than a web framework: the routes are fixed, the bodies are
JSON in and JSON out, and per-request overhead is what the latency targets measure, so
the application reads the body itself (refusing oversized ones before buffering them)
and answers with one ``send``. Registry clients are created at lifespan startup, inside
the server's event loop, and closed at shutdown.

HTTP statuses: 200 with an AdmissionReview for every review that can be answered (a
denial included), 400 for a body that is not an AdmissionReview, 404/405 for wrong
routes and methods, 413 for oversized bodies. A failure inside the webhook's own code is
answered as a denial (fail closed) with code 500 inside the review, never as an HTTP 500.
"""

from __future__ import annotations

import gc
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from imgdigest.registry.credentials import CredentialStore
from imgdigest.registry.transport import Transport
from imgdigest.resolve import AsyncResolver, Resolution, ResolveOptions
from imgdigest.webhook import handlers, review
from imgdigest.webhook.cache import TTLCache
from imgdigest.webhook.config import WebhookConfig
from imgdigest.webhook.lookup import Lookup
from imgdigest.webhook.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger("imgdigest.webhook")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON = [(b"content-type", b"application/json")]
_TEXT = [(b"content-type", b"text/plain; charset=utf-8")]


class BodyTooLarge(Exception):
    pass


class WebhookApp:
    """ASGI app serving /validate, /mutate, /healthz, /readyz and /metrics."""

    def __init__(
        self,
        config: WebhookConfig,
        options: ResolveOptions,
        pull_secrets: Iterable[str | Path] = (),
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self.metrics = metrics or Metrics()
        self.options = options
        self.pull_secrets = tuple(pull_secrets)
        self.lookup: Lookup | None = None
        self.ready = False

    # -- lifecycle ---------------------------------------------------------------

    async def startup(self) -> None:
        registry = self.options.registry
        if registry.on_request is None:
            registry = replace(registry, on_request=self.metrics.on_registry_request)
        options = replace(self.options, registry=registry)
        store = CredentialStore(registry.docker_config, registry.auth_file)
        for path in self.pull_secrets:
            store.add_dockerconfigjson(path)
        resolver = AsyncResolver(options, Transport(registry, store))
        cache: TTLCache[Resolution] = TTLCache(self.config.cache_ttl, self.config.cache_size)
        self.lookup = Lookup(resolver, cache, self.metrics, self.config.platform)
        # Everything allocated so far lives as long as the process: keep it out of the
        # collector's full passes, which would otherwise show up as latency spikes.
        gc.collect()
        gc.freeze()
        self.ready = True

    async def shutdown(self) -> None:
        self.ready = False
        if self.lookup is not None:
            await self.lookup.aclose()

    # -- ASGI ----------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path in ("/validate", "/mutate"):
            if method != "POST":
                await _send(send, 405, b"use POST\n", _TEXT)
                return
            await self._admit(path[1:], scope, receive, send)
        elif path in ("/healthz", "/readyz", "/metrics"):
            if method not in ("GET", "HEAD"):
                await _send(send, 405, b"use GET\n", _TEXT)
            elif path == "/healthz":
                await _send(send, 200, b"ok\n", _TEXT)
            elif path == "/readyz":
                ok = self.ready
                await _send(send, 200 if ok else 503, b"ok\n" if ok else b"not ready\n", _TEXT)
            else:
                await _send(
                    send, 200, self.metrics.render(), [(b"content-type", CONTENT_TYPE.encode())]
                )
        else:
            await _send(send, 404, b"not found\n", _TEXT)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:  # reported to the server, which exits
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _admit(self, endpoint: str, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status, body, verdict = await self._answer(endpoint, scope, receive, started)
        await _send(send, status, body, _JSON if status == 200 else _TEXT)
        self.metrics.requests.labels(endpoint, verdict).inc()
        self.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)

    async def _answer(
        self, endpoint: str, scope: Scope, receive: Receive, started: float
    ) -> tuple[int, bytes, str]:
        try:
            raw = await _read_body(scope, receive, self.config.max_body_bytes)
        except BodyTooLarge:
            return 413, f"body larger than {self.config.max_body_bytes} bytes\n".encode(), "invalid"
        try:
            req = review.parse(raw)
        except review.ReviewError as exc:
            return 400, f"{exc}\n".encode(), "invalid"
        try:
            if endpoint == "validate":
                answer, verdict = handlers.validate(req, self.config)
            else:
                assert self.lookup is not None, "lookups start with the server"
                remaining = self.config.budget - (time.perf_counter() - started)
                answer, verdict = await handlers.mutate_request(
                    req, self.config, self.lookup, remaining
                )
        except Exception:
            log.exception("%s: unexpected failure reviewing %s %s", endpoint, req.kind, req.name)
            answer = review.response(
                req.uid, allowed=False, code=500, message="imgdigest webhook: internal error"
            )
            verdict = "error"
        return 200, json.dumps(answer, separators=(",", ":")).encode(), verdict


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                if int(value) > limit:
                    raise BodyTooLarge
            except ValueError:
                pass
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
