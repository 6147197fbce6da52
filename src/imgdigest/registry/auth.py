"""Registry authentication: one ``Authenticator`` per ``WWW-Authenticate`` scheme.

A registry says how it wants to be addressed when it answers ``/v2/`` with 401:
``Basic`` (send credentials on every request) or ``Bearer realm=...,service=...``
(trade credentials, or nothing, at the realm for a short-lived token scoped to
``repository:NAME:ACTIONS``). The token spec allows several ``scope`` parameters in
one token request, so a batch of references costs one token request per registry,
not one per repository; the token is then sent up front instead of waiting for a
401 on each repository. Tokens are cached per registry and scope until shortly
before they expire.

The transport knows no scheme. Its ping finds the challenge, and the class registered
for that scheme (``register``, ``AUTHENTICATORS``) answers three things: the
``Authorization`` header of a request, the work worth doing before a batch
(``prepare``), and how to prove credentials (``check_login``). A new scheme is one
subclass and one registration. What must hold for every scheme stays in the transport:
no ``Authorization`` header over plain HTTP to a remote host not declared insecure, and
none after a redirect to another host. An authenticator reaches the network only
through ``AuthSession``, which the transport implements, so token requests get the same
trust, retries, redirects and trace as any other request.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import re
import time
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, TypeVar
from urllib.parse import urlencode, urlsplit

from imgdigest.errors import AuthError, UnauthorizedError
from imgdigest.registry.credentials import Credential, CredentialStore

_PARAM = re.compile(r'\s*([A-Za-z0-9_\-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')

# Refresh a token this many seconds before the registry would reject it.
_EXPIRY_MARGIN = 10.0
# The token spec's default lifetime when ``expires_in`` is absent.
_DEFAULT_TOKEN_SECONDS = 60
#: A token answer is a few KiB; more is a broken or hostile token service.
MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024
# No token service issues tokens for longer; a bigger ``expires_in`` is garbage.
_MAX_TOKEN_SECONDS = 366 * 24 * 3600
# What an Authorization header may carry (RFC 6750 b64token, and JWTs are within it).
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# Scopes per token request: keeps the URL well under common 8 KiB limits.
_SCOPES_PER_TOKEN_REQUEST = 64
# How long a registry token from a credentials file is taken to last.
_REGISTRY_TOKEN_SECONDS = 3600


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower case: "basic", "bearer", ...
    params: dict[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")

    @property
    def service(self) -> str:
        return self.params.get("service", "")

    @property
    def scope(self) -> str:
        return self.params.get("scope", "")


def parse_challenges(header: str | None) -> list[Challenge]:
    """Parse a ``WWW-Authenticate`` value; unknown schemes are kept, params may be quoted."""
    if not header:
        return []
    out: list[Challenge] = []
    rest = header.strip()
    while rest:
        m = re.match(r"([A-Za-z][A-Za-z0-9_\-]*)\s*", rest)
        if not m:
            break
        scheme = m.group(1).lower()
        rest = rest[m.end() :]
        params: dict[str, str] = {}
        while True:
            pm = _PARAM.match(rest)
            if not pm:
                break
            value = pm.group(2) if pm.group(2) is not None else pm.group(3) or ""
            params[pm.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
            rest = rest[pm.end() :]
        out.append(Challenge(scheme, params))
        rest = rest.lstrip(", ")
    return out


def check_realm(realm: str, host: str) -> None:
    """A challenge's realm must be an http(s) URL with a host, or there is nowhere to ask."""
    try:
        parts = urlsplit(realm)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        ok = ok and parts.port != 0  # .port raises ValueError when out of range
    except ValueError:
        ok = False
    if not ok:
        raise AuthError(f"registry {host} named a token realm that is not an http(s) URL")


def parse_token_response(body: bytes, what: str) -> tuple[str, float | None]:
    """The token and its lifetime from a token service's 200 answer, checked.

    ``what`` names the service (``token service HOST for REGISTRY``). Every defect is one
    ``AuthError`` that never quotes the body: it may hold a token.
    """
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, nested without end
        raise AuthError(f"{what} answered a body that is not JSON") from None
    if not isinstance(obj, dict):
        raise AuthError(f"{what} answered JSON that is not an object")
    # ``token`` is the spec's; ``access_token`` the OAuth2 name some services use instead.
    key = "token" if obj.get("token") not in (None, "") else "access_token"
    token = obj.get(key)
    if token is None or token == "":
        raise AuthError(f"{what} answered without a token")
    if not isinstance(token, str):
        raise AuthError(f"{what} answered a {key} that is not a string")
    if not _TOKEN_CHARS.fullmatch(token):
        raise AuthError(f"{what} answered a {key} with characters a header cannot carry")
    expires_in = obj.get("expires_in")
    if expires_in is None:
        return token, None
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
        raise AuthError(f"{what} answered an expires_in that is not a number")
    finite = not isinstance(expires_in, float) or math.isfinite(expires_in)
    if not finite or not 0 <= expires_in <= _MAX_TOKEN_SECONDS:
        # An integer may have hundreds of digits: too big for a float, and for a message.
        shown = f"{expires_in:g}" if isinstance(expires_in, float) else str(expires_in)[:20]
        raise AuthError(
            f"{what} answered expires_in {shown}, outside 0 to {_MAX_TOKEN_SECONDS} seconds"
        )
    return token, float(expires_in)


def scope_for(repository: str, actions: str = "pull") -> str:
    return f"repository:{repository}:{actions}"


@dataclass
class _Token:
    value: str = field(repr=False)  # a secret: never in a repr, so never in a log
    expires_at: float


@dataclass
class TokenCache:
    """Tokens by scope for one registry; one token may serve many scopes."""

    _by_scope: dict[str, _Token] = field(default_factory=dict)

    def get(self, scope: str) -> str | None:
        tok = self._by_scope.get(scope)
        if tok is None:
            # A push token also grants pull.
            if scope.endswith(":pull"):
                tok = self._by_scope.get(scope[: -len("pull")] + "pull,push")
            if tok is None:
                return None
        if tok.expires_at - _EXPIRY_MARGIN <= time.monotonic():
            return None
        return tok.value

    def put(self, scopes: list[str], value: str, expires_in: float | None) -> None:
        seconds = float(expires_in) if expires_in else _DEFAULT_TOKEN_SECONDS
        tok = _Token(value, time.monotonic() + seconds)
        for s in scopes:
            self._by_scope[s] = tok

    def drop(self, scope: str) -> None:
        self._by_scope.pop(scope, None)


def hostname(host: str) -> str:
    """``host[:port]`` without the port (and without IPv6 brackets)."""
    if host.startswith("["):
        return host[1 : host.find("]")]
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def basic_header(cred: Credential) -> str:
    """``Authorization: Basic`` for a username and password."""
    raw = f"{cred.username}:{cred.password}".encode()
    return "Basic " + base64.b64encode(raw).decode()


# -- the seam between the transport and the schemes -------------------------------------


class AuthSession(Protocol):
    """What an authenticator may ask of the transport that runs it."""

    credentials: CredentialStore

    def is_insecure(self, host: str) -> bool:
        """``host`` was declared insecure (plain HTTP, or TLS left unverified)."""
        ...

    def plain_http_allowed(self, host: str) -> bool:
        """Credentials may go to ``host`` over plain HTTP."""
        ...

    async def check_v2(self, host: str) -> None:
        """Ask ``host``'s ``/v2/`` with this registry's authorization; a refusal raises."""
        ...

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
        """One request outside the registry API, read whole: see ``Transport.fetch``."""
        ...


class Authenticator:
    """Answers one registry's challenge; this base class answers a scheme nobody registered.

    Such a registry gets no credentials (it will refuse, and say so), and a login is
    checked by asking ``/v2/``. Subclasses set ``scheme`` and override what differs.
    One instance serves one registry for the life of the transport, so it may cache.
    """

    #: The ``WWW-Authenticate`` scheme answered, lower case.
    scheme: ClassVar[str] = ""

    def __init__(
        self, session: AuthSession, host: str, challenge: Challenge, *, plain_http: bool
    ) -> None:
        self.session = session
        self.host = host
        self.challenge = challenge  # the transport updates it when the registry re-challenges
        self.plain_http = plain_http  # the registry is spoken to over plain HTTP

    async def authorization(self, repository: str, actions: str) -> str | None:
        """The ``Authorization`` header for a request on ``repository`` ("": none), if any."""
        return None

    async def prepare(self, repositories: Iterable[str], actions: str) -> None:
        """Work worth doing once before a batch touches ``repositories``."""

    async def check_login(self) -> None:
        """Prove the credentials work, as ``docker login`` does: by asking ``/v2/``."""
        await self.session.check_v2(self.host)

    def forget(self, scope: str) -> None:
        """The registry refused what was sent for ``scope``: do not send it again."""

    def credential(self, repository: str) -> Credential:
        """The credential for ``repository``, refused when it would cross a network in clear."""
        host = self.host
        cred = self.session.credentials.get(host, repository)
        if cred and self.plain_http and not self.session.plain_http_allowed(host):
            raise AuthError(
                f"refusing to send credentials for {host} over plain HTTP; "
                f"declare the registry insecure (--insecure {host}) if that is intended",
                host=host,
            )
        return cred


#: Authenticator classes by scheme; registration order is preference order.
AUTHENTICATORS: dict[str, type[Authenticator]] = {}

_A = TypeVar("_A", bound=type[Authenticator])


def register(cls: _A) -> _A:
    """Class decorator: answer challenges of ``cls.scheme`` with ``cls``."""
    AUTHENTICATORS[cls.scheme] = cls
    return cls


def authenticator_class(scheme: str) -> type[Authenticator]:
    """The class answering ``scheme``; the base class (no credentials) when none is registered."""
    return AUTHENTICATORS.get(scheme, Authenticator)


def pick_challenge(challenges: list[Challenge]) -> Challenge | None:
    """The challenge to answer: the most preferred registered scheme, else the first one."""
    for scheme in AUTHENTICATORS:
        for ch in challenges:
            if ch.scheme == scheme:
                return ch
    return challenges[0] if challenges else None


# -- the schemes ------------------------------------------------------------------------


@register
class BearerAuthenticator(Authenticator):
    """Tokens from the challenge's realm, fetched up front for a batch and cached by scope.

    A registry token from a credentials file is sent as it is; an identity token
    (``identitytoken`` in ``config.json``) is an OAuth2 refresh token POSTed to the realm;
    a username and password go to it as Basic on a GET. A plain-HTTP realm gets
    credentials only on loopback, on a host declared insecure, or on the same host as a
    registry declared insecure.
    """

    scheme = "bearer"

    def __init__(
        self, session: AuthSession, host: str, challenge: Challenge, *, plain_http: bool
    ) -> None:
        super().__init__(session, host, challenge, plain_http=plain_http)
        self.tokens = TokenCache()
        self._locks: dict[str, asyncio.Lock] = {}

    async def authorization(self, repository: str, actions: str) -> str | None:
        scope = scope_for(repository, actions) if repository else ""
        token = self.tokens.get(scope)
        if token is None:
            # Concurrent requests on one repository share one token request.
            async with self._locks.setdefault(scope, asyncio.Lock()):
                token = self.tokens.get(scope)
                if token is None:
                    token = await self._fetch([scope] if scope else [])
        return f"Bearer {token}"

    async def prepare(self, repositories: Iterable[str], actions: str) -> None:
        """One token request covering every repository a batch will touch, before any 401."""
        scopes = sorted({scope_for(r, actions) for r in repositories})
        missing = [s for s in scopes if self.tokens.get(s) is None]
        for i in range(0, len(missing), _SCOPES_PER_TOKEN_REQUEST):
            await self._fetch(missing[i : i + _SCOPES_PER_TOKEN_REQUEST])

    async def check_login(self) -> None:
        """The realm issuing a token for no scope proves the credentials."""
        await self._fetch([])

    def forget(self, scope: str) -> None:
        self.tokens.drop(scope)

    async def _fetch(self, scopes: list[str]) -> str:
        """A token for ``scopes`` (none: the registry's bare login), cached for them."""
        realm = self._realm()
        realm_host = urlsplit(realm).netloc
        cred = self.credential("") if scopes else self.session.credentials.get(self.host)
        if cred and urlsplit(realm).scheme != "https" and not self._plain_realm_allowed(realm_host):
            raise AuthError(
                f"token service for {self.host} is plain HTTP ({realm_host}); refusing to send "
                f"credentials to it; declare it insecure (--insecure {realm_host}) if that "
                "is intended",
                host=realm_host,
            )
        if cred.registry_token:
            self.tokens.put(scopes, cred.registry_token, _REGISTRY_TOKEN_SECONDS)
            return cred.registry_token
        what = f"token service {realm_host} for {self.host}"
        status, body = await self._ask(realm, realm_host, cred, scopes, what)
        if body is None:
            raise AuthError(f"{what} answered more than 1 MiB; refusing to read it")
        if status in (401, 403):
            who = f"as {cred.username!r}" if cred.username else "anonymously"
            raise UnauthorizedError(
                f"token service for {self.host} refused to issue a token {who} "
                f"(HTTP {status}); check the credentials (imgdigest login {self.host})"
            )
        token, expires_in = parse_token_response(body, what)
        self.tokens.put(scopes, token, expires_in)
        return token

    def _realm(self) -> str:
        realm = self.challenge.realm
        if not realm:
            raise AuthError(f"registry {self.host} asked for a bearer token but named no realm")
        check_realm(realm, self.host)
        return realm

    def _plain_realm_allowed(self, realm_host: str) -> bool:
        """A registry declared insecure vouches for its token service on the same host."""
        session = self.session
        return session.plain_http_allowed(realm_host) or (
            session.is_insecure(self.host) and hostname(realm_host) == hostname(self.host)
        )

    async def _ask(
        self, realm: str, realm_host: str, cred: Credential, scopes: list[str], what: str
    ) -> tuple[int, bytes | None]:
        service = self.challenge.service
        if cred.identity_token:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": cred.identity_token,
                "client_id": "imgdigest",
                "scope": " ".join(scopes),
            }
            if service:
                form["service"] = service
            method, url, content = "POST", realm, urlencode(form).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
        else:
            params = [("service", service)] if service else []
            params.extend(("scope", s) for s in scopes)
            sep = "&" if "?" in realm else "?"
            method, url, content = "GET", realm + (sep + urlencode(params) if params else ""), None
            headers = {"Authorization": basic_header(cred)} if cred else {}
        return await self.session.fetch(
            method,
            url,
            headers,
            host=realm_host,
            purpose="token",
            what=what,
            max_bytes=MAX_TOKEN_RESPONSE_BYTES,
            accept=(200, 401, 403),
            content=content,
        )


@register
class BasicAuthenticator(Authenticator):
    """The username and password with every request; nothing to fetch first."""

    scheme = "basic"

    async def authorization(self, repository: str, actions: str) -> str | None:
        cred = self.credential(repository)
        return basic_header(cred) if cred else None
