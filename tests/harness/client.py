"""A small, independent registry client used by the harness to push and read content.

It shares no code with imgdigest on purpose: tests compare imgdigest's answers with what
this witness put into (or reads from) a real registry. It answers ``WWW-Authenticate``
challenges the way the distribution spec describes (Basic, or Bearer from the realm with
the challenged scope) and caches one Authorization header per repository.
"""

from __future__ import annotations

import base64
import re
import threading
from typing import Protocol

import httpx

from .tls import verify_for

_PARAM = re.compile(r'(\w+)="([^"]*)"')


class Endpoint(Protocol):
    """Anything the harness can talk to: a RegistryServer, a FaultProxy, ..."""

    @property
    def url(self) -> str: ...

    @property
    def ca_file(self) -> str | None: ...

    @property
    def username(self) -> str | None: ...

    @property
    def password(self) -> str | None: ...


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``('bearer', {'realm': ..., 'service': ..., 'scope': ...})`` from a WWW-Authenticate."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), dict(_PARAM.findall(rest))


class RegistryClient:
    """Blocking client for one registry endpoint, with challenge-driven auth."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        username: str | None = None,
        password: str | None = None,
        anonymous: bool = False,
        token_ca_file: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.base = endpoint.url.rstrip("/")
        self.username = None if anonymous else (username or endpoint.username)
        self.password = None if anonymous else (password or endpoint.password)
        verify = verify_for(endpoint.ca_file, token_ca_file or _token_ca(endpoint))
        self._http = httpx.Client(verify=verify, timeout=timeout, follow_redirects=True)
        self._token_http = httpx.Client(verify=verify, timeout=timeout)
        self._auth: dict[str, str] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()
        self._token_http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        repo: str = "",
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send a request, answering at most two auth challenges (e.g. pull then push)."""
        url = path_or_url if "://" in path_or_url else f"{self.base}{path_or_url}"
        response = None
        for _ in range(3):
            merged = dict(headers or {})
            with self._lock:
                if repo in self._auth:
                    merged["Authorization"] = self._auth[repo]
            response = self._http.request(
                method, url, headers=merged, content=content, params=params
            )
            if response.status_code != 401 or not self._answer(response, repo):
                return response
        assert response is not None
        return response

    def _answer(self, response: httpx.Response, repo: str) -> bool:
        """Store a new Authorization header for ``repo``; False if nothing new can be tried."""
        header = response.headers.get("WWW-Authenticate", "")
        scheme, params = parse_challenge(header)
        if scheme == "basic":
            if not self.username:
                return False
            pair = f"{self.username}:{self.password or ''}".encode()
            value = f"Basic {base64.b64encode(pair).decode()}"
        elif scheme == "bearer":
            query: list[tuple[str, str]] = [("service", params.get("service", ""))]
            query += [("scope", s) for s in params.get("scope", "").split(" ") if s]
            auth = (self.username, self.password or "") if self.username else None
            token_response = self._token_http.get(params["realm"], params=query, auth=auth)
            if token_response.status_code != 200:
                return False
            body = token_response.json()
            value = f"Bearer {body.get('token') or body['access_token']}"
        else:
            return False
        with self._lock:
            if self._auth.get(repo) == value and scheme == "basic":
                return False
            self._auth[repo] = value
        return True

    # -- conveniences -------------------------------------------------------------
    def get_manifest(self, repo: str, reference: str, accept: str | None = None) -> httpx.Response:
        return self.request(
            "GET",
            f"/v2/{repo}/manifests/{reference}",
            repo=repo,
            headers={"Accept": accept or ALL_MANIFEST_TYPES},
        )

    def get_blob(self, repo: str, digest: str) -> httpx.Response:
        return self.request("GET", f"/v2/{repo}/blobs/{digest}", repo=repo)


ALL_MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


def _token_ca(endpoint: Endpoint) -> str | None:
    token_server = getattr(endpoint, "token_server", None)
    return getattr(token_server, "ca_file", None)
