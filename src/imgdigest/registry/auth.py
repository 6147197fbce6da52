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

import re
import time
from dataclasses import dataclass, field

_PARAM = re.compile(r'\s*([A-Za-z0-9_\-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')

# Refresh a token this many seconds before the registry would reject it.
_EXPIRY_MARGIN = 10.0
# The token spec's default lifetime when ``expires_in`` is absent.
_DEFAULT_TOKEN_SECONDS = 60


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
