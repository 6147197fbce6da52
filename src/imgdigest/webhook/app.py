"""The webhook as an ASGI application: five fixed routes, nothing between them and the work.

A plain ASGI callable rather than a web framework: the routes are fixed, the bodies are
JSON in and JSON out, and per-request overhead is what the latency targets measure, so
the application reads the body itself (refusing oversized ones before buffering them)
and answers with one ``send``. Registry clients are created at lifespan startup, inside
the server's event loop, and closed at shutdown.

HTTP statuses: 200 with an AdmissionReview for every review that can be answered (a
denial included), 400 for a body that is not an AdmissionReview, 404/405 for wrong
routes and methods, 413 for oversized bodies. A failure inside the webhook's own code is
answered as a denial (fail closed) whose message says so, never as an HTTP 500 nor a
code 500 in the review: the API server would hand that 500 on to the user's client,
which would retry a request that fails the same way every time. Each answered review
is logged as one JSON line on stderr (``review_log``).
"""

from __future__ import annotations

import gc
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgdigest.registry.credentials import CredentialStore
from imgdigest.registry.transport import Transport
from imgdigest.resolver import AsyncResolver, Resolution, ResolveOptions
from imgdigest.webhook import handlers, review
from imgdigest.webhook.config import WebhookConfig
from imgdigest.webhook.lookup import Lookup
from imgdigest.webhook.metrics import CONTENT_TYPE, Metrics
from imgdigest.webhook.ttlcache import TTLCache

if TYPE_CHECKING:
    from imgdigest.webhook.signed import SignatureGate

log = logging.getLogger("imgdigest.webhook")
#: Its level says whether each answered review is written as one JSON line on stderr.
#: The line is written directly, not through ``logging``: it is JSON already, and the
#: logging machinery would double its cost (measured: 14 µs a line written, 30 via logging).
review_log = logging.getLogger("imgdigest.webhook.review")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON = [(b"content-type", b"application/json")]
_TEXT = [(b"content-type", b"text/plain; charset=utf-8")]


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    """The connection closed before the body was complete (the client, or a read deadline)."""


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
        self.gate: SignatureGate | None = None
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
        if self.config.require_signature:
            from imgdigest.signatures.enforce import VerdictCache
            from imgdigest.webhook.signed import SignatureGate, parse_rules

            verdicts = VerdictCache(self.config.cache_size, self.config.cache_ttl)
            rules = parse_rules(self.config.require_signature)
            self.gate = SignatureGate(resolver, rules, self.metrics, verdicts)
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
        try:
            status, body, req, outcome, error = await self._answer(
                endpoint, scope, receive, started
            )
        except ClientGone:
            return  # the connection is closed: nobody to answer
        headers = _JSON if status == 200 else _TEXT
        if status == 413:  # the rest of the body is not worth reading: close after answering
            headers = [*_TEXT, (b"connection", b"close")]
        await _send(send, status, body, headers)
        elapsed = time.perf_counter() - started
        self.metrics.requests.labels(endpoint, outcome.verdict).inc()
        self.metrics.latency.labels(endpoint).observe(elapsed)
        if review_log.isEnabledFor(logging.INFO):
            sys.stderr.write(_log_line(endpoint, status, req, outcome, elapsed, error) + "\n")

    async def _answer(
        self, endpoint: str, scope: Scope, receive: Receive, started: float
    ) -> tuple[int, bytes, review.AdmissionRequest | None, handlers.Answer, str]:
        """(HTTP status, body, the request if parsed, the outcome, why it is a 4xx)."""
        invalid = handlers.Answer({}, "invalid")
        try:
            raw = await _read_body(scope, receive, self.config.max_body_bytes)
        except BodyTooLarge:
            error = f"body larger than {self.config.max_body_bytes} bytes"
            return 413, f"{error}\n".encode(), None, invalid, error
        try:
            req = review.parse(raw)
        except review.ReviewError as exc:
            return 400, f"{exc}\n".encode(), None, invalid, str(exc)
        try:
            remaining = self.config.budget - (time.perf_counter() - started)
            if endpoint == "validate":
                outcome = handlers.validate(req, self.config)
                if self.gate is not None:
                    outcome = await handlers.require_signatures(
                        req, self.config, self.gate, outcome, remaining
                    )
            else:
                assert self.lookup is not None, "lookups start with the server"
                outcome = await handlers.mutate_request(
                    req, self.config, self.lookup, remaining, self.gate
                )
        except Exception as exc:
            # A bug of the webhook, not of the request: refuse (fail closed), with a message
            # that says so to the user, and keep the details for the log.
            log.exception("%s: unexpected failure reviewing %s %s", endpoint, req.kind, req.name)
            message = (
                f"imgdigest webhook: could not review this {req.kind} "
                f"({type(exc).__name__} in the webhook), so it is refused; "
                f"the webhook's log has the details (uid {req.uid})"
            )
            outcome = handlers.Answer(
                review.response(req.uid, allowed=False, message=message), "error"
            )
        return 200, json.dumps(outcome.review, separators=(",", ":")).encode(), req, outcome, ""


def _utc_now() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


def _log_line(
    endpoint: str,
    status: int,
    req: review.AdmissionRequest | None,
    outcome: handlers.Answer,
    seconds: float,
    error: str,
) -> str:
    """One JSON object per review: JSON escapes whatever control characters names carry."""
    line: dict[str, Any] = {
        "time": _utc_now(),
        "level": "info",
        "msg": "review",
        "endpoint": endpoint,
        "status": status,
    }
    if req is not None:
        line.update(
            uid=req.uid,
            kind=req.kind,
            namespace=req.namespace,
            name=req.name,
            operation=req.operation,
            dry_run=req.dry_run,
        )
    line.update(decision=outcome.verdict, pinned=outcome.pinned)
    line["latency_ms"] = round(seconds * 1000, 3)
    if error:
        line["error"] = error
    return json.dumps(line)


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
            raise ClientGone
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
