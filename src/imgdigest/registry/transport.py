"""HTTP to registries: scheme, trust, retries, redirects and the request trace.

Decisions that live here, so every caller gets them:

* TLS is verified against the system store plus ``ca_file``. Plain HTTP is used only
  for registries declared insecure and, as Docker does, for loopback hosts; credentials
  and ``Authorization`` headers go over plain HTTP only to those (loopback traffic never
  leaves the machine), whatever the auth scheme.
* One ``/v2/`` ping per registry learns the scheme and the auth challenge. The
  challenge's scheme picks the ``Authenticator`` (``auth.py``) that answers every later
  request, so no auth scheme is known here. A registry declared insecure is asked over
  plain HTTP first (no HTTPS probe); a loopback registry's scheme is remembered across
  runs in a small file (``SchemeCache``), forgotten on failure.
* Retries with exponential backoff and jitter on connection errors, timeouts, 5xx and
  429 (``Retry-After`` honoured up to a limit); never on other 4xx, an unknown host, a
  refused connection or a distrusted certificate, which retrying cannot fix.
* Redirects are followed by hand: ``Authorization`` is dropped when the target is
  another host or a downgrade to plain HTTP, so blob storage never sees a token.
* Connections are kept alive (see ``http.py``) and requests to one registry are bounded
  by a semaphore.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import random
import time
from collections.abc import AsyncIterator, Container, Iterable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from imgdigest.cache import SchemeCache
from imgdigest.errors import (
    AuthError,
    ForbiddenError,
    ImgdigestError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    RegistryTimeoutError,
    ServerError,
    UnauthorizedError,
)
from imgdigest.registry.auth import (
    Authenticator,
    Challenge,
    authenticator_class,
    hostname,
    parse_challenges,
    pick_challenge,
    scope_for,
)
from imgdigest.registry.credentials import CredentialStore
from imgdigest.registry.http import HttpClient, Response
from imgdigest.registry.options import RegistryOptions
from imgdigest.registry.trace import RequestRecord, parse_ratelimit

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_MAX_REDIRECTS = 5
# The most of an unwanted body (a retried 5xx, a redirect, a 401) read to keep the connection.
_DRAIN_LIMIT = 64 * 1024


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 and ::1, with or without a port."""
    name = hostname(host)
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass
class _RegistryState:
    scheme: str | None = None
    failure: NetworkError | None = None  # a failed ping, raised again rather than redone
    auth: Authenticator | None = None  # answers the registry's challenge; None: no auth needed
    # One per scheme the registry has asked for, so what one cached outlives a switch.
    authenticators: dict[str, Authenticator] = field(default_factory=dict)
    ping_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    semaphore: asyncio.Semaphore | None = None


class Transport:
    """Async HTTP client for many registries, shared by every higher-level call."""

    def __init__(
        self,
        options: RegistryOptions | None = None,
        credentials: CredentialStore | None = None,
        schemes: SchemeCache | None = None,
    ) -> None:
        self.options = options or RegistryOptions()
        self.credentials = credentials or CredentialStore(
            self.options.docker_config, self.options.auth_file
        )
        self._states: dict[str, _RegistryState] = {}
        self._http = HttpClient(
            timeout=self.options.timeout,
            user_agent=self.options.user_agent,
            ca_file=str(self.options.ca_file) if self.options.ca_file else None,
            per_host=max(self.options.concurrency, 1),
        )
        self._extra_insecure: set[str] = set()
        self._schemes = schemes

    # -- lifecycle ---------------------------------------------------------------

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Transport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- policy ------------------------------------------------------------------

    def declare_insecure(self, host: str) -> None:
        """Mirror entries may declare hosts insecure in addition to the options."""
        self._extra_insecure.add(host)

    def is_insecure(self, host: str) -> bool:
        return host in self.options.insecure or host in self._extra_insecure

    def plain_http_allowed(self, host: str) -> bool:
        """Plain HTTP, and credentials over it: the traffic stays on the machine or was declared."""
        return self.is_insecure(host) or is_loopback(host)

    def _schemes_to_try(self, host: str) -> list[str]:
        if self.is_insecure(host):
            # Plain HTTP first: a TLS registry answers it with a 400, and HTTPS follows.
            return ["http", "https"]
        if not is_loopback(host):
            return ["https"]
        remembered = self._schemes.get(host) if self._schemes is not None else None
        if remembered == "http":
            return ["http", "https"]
        return ["https", "http"]

    def _state(self, host: str) -> _RegistryState:
        st = self._states.get(host)
        if st is None:
            st = self._states[host] = _RegistryState()
            st.semaphore = asyncio.Semaphore(max(self.options.concurrency, 1))
        return st

    # -- ping and auth -------------------------------------------------------------

    async def ping(self, host: str) -> _RegistryState:
        """Learn scheme and challenge of a registry once; concurrent callers share it."""
        st = self._state(host)
        if st.scheme is not None:
            return st
        async with st.ping_lock:
            if st.scheme is not None:
                return st
            if st.failure is not None:
                raise st.failure  # one unreachable registry costs one attempt per run
            try:
                scheme = await self._probe(host, st)
            except NetworkError as exc:
                st.failure = exc
                if self._schemes is not None:
                    self._schemes.drop(host)
                raise
            st.scheme = scheme
            if self._schemes is not None and is_loopback(host) and not self.is_insecure(host):
                self._schemes.put(host, scheme)
            return st

    async def _probe(self, host: str, st: _RegistryState) -> str:
        schemes = self._schemes_to_try(host)
        last_exc: NetworkError | None = None
        for i, scheme in enumerate(schemes):
            more = i < len(schemes) - 1
            try:
                resp = await self._send(
                    "GET",
                    f"{scheme}://{host}/v2/",
                    {},
                    host=host,
                    purpose="ping",
                    # Probing a scheme the registry may not speak: fail fast.
                    retries=0 if more else None,
                )
            except NetworkError as exc:
                if exc.cause in ("certificate", "refused"):
                    raise  # an untrusted TLS server, or nothing listening: HTTP won't help
                last_exc = exc
                continue
            body = await resp.aread()
            if scheme == "http" and resp.status_code == 400:
                # "Client sent an HTTP request to an HTTPS server".
                if more:
                    continue
                if last_exc is not None:
                    raise last_exc  # the HTTPS error is the news
            if resp.status_code == 401:
                challenge = pick_challenge(parse_challenges(resp.headers.get("www-authenticate")))
                if challenge is not None:
                    self._answer(host, st, challenge, plain_http=scheme == "http")
            elif resp.status_code >= 400 and resp.status_code != 404:
                raise _status_error(resp, f"registry {host}", body, host=host)
            return scheme
        assert last_exc is not None
        raise last_exc

    def _answer(
        self, host: str, st: _RegistryState, challenge: Challenge, *, plain_http: bool
    ) -> None:
        """Answer ``challenge`` with the authenticator registered for its scheme."""
        auth = st.authenticators.get(challenge.scheme)
        if auth is None:
            cls = authenticator_class(challenge.scheme)
            auth = cls(self, host, challenge, plain_http=plain_http)
            st.authenticators[challenge.scheme] = auth
        auth.challenge = challenge
        st.auth = auth

    async def check_login(self, host: str) -> None:
        """Prove the credentials work before they are stored, as ``docker login`` does."""
        st = await self.ping(host)
        if st.auth is not None:  # else the registry asks for no credentials at all
            await st.auth.check_login()

    async def check_v2(self, host: str) -> None:
        """Ask ``/v2/`` with the registry's authorization: a refusal means bad credentials."""
        async with self.stream("GET", host, "/v2/", purpose="login") as resp:
            if resp.status_code in (401, 403):
                raise UnauthorizedError(f"{host}: the registry refused these credentials")
            if resp.status_code >= 400 and resp.status_code != 404:
                raise status_error(resp.status_code, f"registry {host}")

    async def prepare(self, host: str, repositories: Iterable[str], actions: str = "pull") -> None:
        """Let the registry's authenticator work ahead for every repository a batch touches."""
        st = await self.ping(host)
        if st.auth is not None:
            await st.auth.prepare(repositories, actions)

    async def fetch(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        *,
        host: str,
        purpose: str,
        what: str,
        max_bytes: int,
        accept: Container[int],
        content: bytes | None = None,
    ) -> tuple[int, bytes | None]:
        """One request outside the registry API (a token service), read whole.

        A 200's body is read up to ``max_bytes`` (``None`` when it is more); any other
        answer's up to 64 KiB, for its detail only. A status not in ``accept`` raises the
        error for it, naming ``what``.
        """
        resp = await self._send(
            method, url, headers, host=host, purpose=purpose, content=content, stream=True
        )
        ok = resp.status_code == 200
        body: bytes | None
        try:
            body = await _read_at_most(resp, max_bytes if ok else _DRAIN_LIMIT)
        except _TooLarge:
            body = None if ok else b""  # an error page: its status is the news, not its detail
        finally:
            await resp.aclose()
        if resp.status_code not in accept:
            raise _status_error(resp, what, body or b"")
        return resp.status_code, body

    # -- requests ------------------------------------------------------------------

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        host: str,
        path: str,
        *,
        repository: str = "",
        actions: str = "pull",
        headers: dict[str, str] | None = None,
        purpose: str = "",
        content: bytes | None = None,
    ) -> AsyncIterator[Response]:
        """Send one registry API request with auth; the body is left unread to stream."""
        st = await self.ping(host)
        assert st.semaphore is not None
        async with st.semaphore:
            resp = None
            for attempt in range(2):
                auth = await st.auth.authorization(repository, actions) if st.auth else None
                hdrs = dict(headers or {})
                if auth:
                    if st.scheme == "http" and not self.plain_http_allowed(host):
                        raise AuthError(
                            f"{host} wants an Authorization header over plain HTTP; declare "
                            f"the registry insecure (--insecure {host}) if that is intended",
                            host=host,
                        )
                    hdrs["Authorization"] = auth
                url = f"{st.scheme}://{host}{path}"
                resp = await self._send(
                    method, url, hdrs, host=host, purpose=purpose, content=content, stream=True
                )
                if resp.status_code == 401 and attempt == 0 and st.auth is not None:
                    # The token expired or lacked a scope: learn the scope and try once more.
                    await _drain(resp)
                    fresh = pick_challenge(parse_challenges(resp.headers.get("www-authenticate")))
                    if fresh is not None:
                        params = {**st.auth.challenge.params, **fresh.params}
                        merged = Challenge(fresh.scheme, params)
                        self._answer(host, st, merged, plain_http=st.scheme == "http")
                        if repository:
                            st.auth.forget(scope_for(repository, actions))
                    continue
                break
            assert resp is not None
            try:
                yield resp
            finally:
                await _release(resp, method)

    async def request(
        self,
        method: str,
        host: str,
        path: str,
        *,
        repository: str = "",
        actions: str = "pull",
        headers: dict[str, str] | None = None,
        purpose: str = "",
        content: bytes | None = None,
        max_bytes: int | None = None,
    ) -> tuple[Response, bytes]:
        """Like ``stream`` but reads the body (refusing more than ``max_bytes``)."""
        async with self.stream(
            method,
            host,
            path,
            repository=repository,
            actions=actions,
            headers=headers,
            purpose=purpose,
            content=content,
        ) as resp:
            return resp, await _read_at_most(resp, max_bytes, by_length=False)

    async def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        *,
        host: str,
        purpose: str,
        content: bytes | None = None,
        stream: bool = False,
        retries: int | None = None,
    ) -> Response:
        """One logical request: retries, backoff and safe redirects."""
        opts = self.options
        retries = opts.retries if retries is None else retries
        attempt = 0
        while True:
            resp = await self._follow(method, url, headers, host, purpose, content, retries)
            if resp.status_code not in _RETRY_STATUSES or attempt >= retries:
                if not stream:
                    await resp.aread()
                return resp
            delay = _retry_after(resp.headers.get("retry-after"))
            await _drain(resp)
            if delay is None:
                delay = _backoff(opts.backoff, attempt)
            elif delay > opts.max_retry_after:
                raise RateLimitedError(
                    f"{host} asked to wait {delay:.0f}s before retrying (limit "
                    f"{opts.max_retry_after:.0f}s)"
                )
            attempt += 1
            await asyncio.sleep(delay)

    async def _follow(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        host: str,
        purpose: str,
        content: bytes | None,
        retries: int,
    ) -> Response:
        hdrs = dict(headers)
        origin = urlsplit(url)
        for _ in range(_MAX_REDIRECTS + 1):
            resp = await self._once(method, url, hdrs, purpose, content, retries)
            if resp.status_code not in (301, 302, 303, 307, 308) or "location" not in resp.headers:
                return resp
            await _drain(resp)
            target = urljoin(url, resp.headers["location"])
            t = urlsplit(target)
            if t.netloc != origin.netloc or (origin.scheme == "https" and t.scheme != "https"):
                hdrs.pop("Authorization", None)
            if (
                t.scheme == "http"
                and origin.scheme == "https"
                and not self.plain_http_allowed(t.netloc)
            ):
                raise NetworkError(
                    f"{host} redirected to plain HTTP ({t.netloc}); refusing to follow; "
                    f"declare it insecure (--insecure {t.netloc}) if that is intended",
                    host=host,
                )
            if resp.status_code == 303:
                method, content = "GET", None
            url = target
        raise NetworkError(f"{host}: too many redirects")

    async def _once(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        purpose: str,
        content: bytes | None,
        retries: int,
    ) -> Response:
        parts = urlsplit(url)
        verify = not (parts.scheme == "https" and self.is_insecure(parts.netloc))
        record_path = parts.path + (f"?{parts.query}" if parts.query and purpose == "token" else "")
        started = time.perf_counter()
        opts = self.options
        attempt = 0
        while True:
            try:
                resp = await self._http.send(method, url, headers, content, verify, parts.netloc)
                break
            except NetworkError as exc:
                err = exc
            self._record(method, parts.netloc, record_path, 0, 0, started, purpose, None, str(err))
            # Retrying cannot fix a refused connection, an unknown name or a distrusted
            # certificate.
            if (
                err.cause is not None
                or attempt >= retries
                or (isinstance(err, RegistryTimeoutError) and attempt >= 1)
            ):
                raise err
            await asyncio.sleep(_backoff(opts.backoff, attempt))
            attempt += 1
        length = resp.headers.get("content-length")
        self._record(
            method,
            parts.netloc,
            record_path,
            resp.status_code,
            int(length) if length and length.isdigit() and method != "HEAD" else 0,
            started,
            purpose,
            resp,
            None,
        )
        return resp

    def _record(
        self,
        method: str,
        host: str,
        path: str,
        status: int,
        size: int,
        started: float,
        purpose: str,
        resp: Response | None,
        error: str | None,
    ) -> None:
        cb = self.options.on_request
        if cb is None:
            return
        cb(
            RequestRecord(
                method=method,
                host=host,
                path=path,
                status=status,
                bytes=size,
                seconds=time.perf_counter() - started,
                purpose=purpose,
                ratelimit_limit=parse_ratelimit(resp.headers.get("ratelimit-limit"))
                if resp
                else None,
                ratelimit_remaining=parse_ratelimit(resp.headers.get("ratelimit-remaining"))
                if resp
                else None,
                error=error,
            )
        )


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


async def _read_at_most(resp: Response, limit: int | None, *, by_length: bool = True) -> bytes:
    """A body of at most ``limit`` bytes (None: any), refused early (``by_length``) when its
    length says it is more; a HEAD answer's length is the resource's, not a body's, so it
    reads none."""
    length = resp.headers.get("content-length", "")
    if limit is not None and by_length and length.isdigit() and int(length) > limit:
        raise _TooLarge(int(length))
    chunks: list[bytes] = []
    total = 0
    async for chunk in resp.aiter_raw():
        total += len(chunk)
        if limit is not None and total > limit:
            raise _TooLarge(total)
        chunks.append(chunk)
    return b"".join(chunks)


async def _drain(resp: Response) -> None:
    """Read a small unwanted body so the connection goes back to the pool, then close.

    A body over 64 KiB (a 503 page, or a hostile endless one) is not worth the reading:
    closing just costs this connection.
    """
    with suppress(NetworkError, _TooLarge):
        await _read_at_most(resp, _DRAIN_LIMIT, by_length=False)
    await resp.aclose()


async def _release(resp: Response, method: str) -> None:
    """A HEAD answer has no body, but the connection is only reusable once that is read."""
    if method == "HEAD" and not resp.is_closed:
        await _drain(resp)
    else:
        await resp.aclose()


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    import email.utils  # an HTTP date here is rare; its import costs 3 ms of start-up

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _backoff(base: float, attempt: int) -> float:
    return base * (2**attempt) * (0.5 + random.random())


def registry_message(body: bytes | object) -> str:
    """The first error message of a registry's JSON error body (or of a response), if any."""
    raw = body if isinstance(body, bytes | bytearray) else getattr(body, "content", b"")
    try:
        obj = json.loads(raw)
        errs = obj.get("errors") or []
        if errs and isinstance(errs[0], dict):
            code = errs[0].get("code", "")
            msg = errs[0].get("message", "")
            return f"{code}: {msg}".strip(": ")[:200]
    except Exception:  # a detail is optional; a malformed body must not hide the status
        pass
    return ""


def _status_error(
    resp: Response, what: str, body: bytes = b"", *, host: str | None = None
) -> Exception:
    return status_error(resp.status_code, what, registry_message(body), host=host)


def status_error(
    status: int,
    what: str,
    detail: str = "",
    *,
    host: str | None = None,
    reference: str | None = None,
) -> Exception:
    """Map an HTTP status to the library's error, naming the thing asked for.

    ``what`` starts the message; ``host`` (taken from ``what`` when that is a
    reference) is what a 401 suggests logging in to.
    """
    suffix = f" ({detail})" if detail else ""
    if host is None and "/" in what and " " not in what.split("/", 1)[0]:
        host = what.split("/", 1)[0]
    cls: type[ImgdigestError]
    if status == 401:
        cls, reason = UnauthorizedError, f"unauthorized (HTTP 401){suffix}"
        if host:
            reason += f"; log in with: imgdigest login {host}"
    elif status == 403:
        cls, reason = ForbiddenError, f"access denied (HTTP 403){suffix}"
    elif status == 404:
        cls, reason = NotFoundError, f"not found{suffix}"
    elif status == 429:
        cls, reason = RateLimitedError, f"rate limited by the registry (HTTP 429){suffix}"
    else:
        cls, reason = ServerError, f"registry answered HTTP {status}{suffix}"
    return cls(f"{what}: {reason}", reference=reference, host=host, reason=reason)
