"""The ``WWW-Authenticate`` challenge flow and the token cache.

A registry says how it wants to be addressed when it answers ``/v2/`` with 401:
``Basic`` (send credentials on every request) or ``Bearer realm=...,service=...``
(trade credentials, or nothing, at the realm for a short-lived token scoped to
``repository:NAME:ACTIONS``). The token spec allows several ``scope`` parameters in
one token request, so a batch of references costs one token request per registry,
not one per repository; the token is then sent up front instead of waiting for a
401 on each repository. Tokens are cached per registry and scope until shortly
before they expire.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from imgdigest.errors import AuthError

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


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "basic" or "bearer" (lower case)
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
    value: str
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
