"""A new auth scheme is one ``Authenticator`` subclass and one registration.

The real basic-auth registry sits behind the fault proxy, which renames its challenge
to ``Sealed``, a scheme the library does not know. ``SealedAuthenticator`` answers it
with the stored user and password as Basic, which the registry checks for real: so a
resolve only succeeds if the transport, unedited, asked the registered class. Without
the registration the same setup is refused, which shows the registration is what
made the difference. The transport's own rules (no Authorization after a redirect to
another host) hold for the new scheme too.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterable, Iterator
from typing import ClassVar

import pytest

from imgdigest.errors import UnauthorizedError
from imgdigest.registry.auth import (
    AUTHENTICATORS,
    Authenticator,
    AuthSession,
    Challenge,
    basic_header,
    parse_challenges,
    pick_challenge,
)
from imgdigest.registry.credentials import Credential, CredentialStore
from imgdigest.registry.options import RegistryOptions
from imgdigest.registry.transport import Transport
from tests.harness import FaultProxy, RegistryServer, push_image, push_index

from .helpers import resolver, store_login

MANIFEST = r"/manifests/"
SEALED = 'Sealed realm="imgdigest-test"'


class SealedAuthenticator(Authenticator):
    """Answers ``Sealed`` challenges; records what the transport asked of it."""

    scheme = "sealed"
    made: ClassVar[list[SealedAuthenticator]] = []

    def __init__(
        self, session: AuthSession, host: str, challenge: Challenge, *, plain_http: bool
    ) -> None:
        super().__init__(session, host, challenge, plain_http=plain_http)
        self.asked: list[str] = []
        self.prepared: list[set[str]] = []
        self.logins = 0
        SealedAuthenticator.made.append(self)

    async def authorization(self, repository: str, actions: str) -> str | None:
        self.asked.append(repository)
        cred = self.credential(repository)
        return basic_header(cred) if cred else None

    async def prepare(self, repositories: Iterable[str], actions: str) -> None:
        self.prepared.append(set(repositories))

    async def check_login(self) -> None:
        self.logins += 1
        await super().check_login()


@pytest.fixture
def sealed(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[SealedAuthenticator]]:
    """``SealedAuthenticator`` registered for this test only."""
    SealedAuthenticator.made = []
    monkeypatch.setitem(AUTHENTICATORS, "sealed", SealedAuthenticator)
    yield SealedAuthenticator


@pytest.fixture
def sealed_registry(registry_basic: RegistryServer, fault_proxy) -> FaultProxy:
    """The basic-auth registry, challenging with ``Sealed`` instead of ``Basic``."""
    proxy = fault_proxy(registry_basic)
    proxy.set_header("WWW-Authenticate", SEALED)
    return proxy


def authorizations(proxy: FaultProxy, method: str, path: str) -> list[str | None]:
    """The Authorization header of each request the proxy got (None: none was sent)."""
    return [
        next((v for k, v in r.headers.items() if k.lower() == "authorization"), None)
        for r in proxy.requests
        if r.method == method and path in r.path
    ]


def test_a_registered_scheme_is_answered_by_its_authenticator(
    sealed, sealed_registry, registry_basic, unique_repo, tmp_home
):
    repos = [unique_repo, f"{unique_repo}-b"]
    images = [push_image(registry_basic, repo, "s") for repo in repos]
    proxy = sealed_registry
    store_login(proxy, tmp_home)
    with resolver(proxy, tmp_home) as r:
        results = r.resolve_many(f"{proxy.host}/{repo}:s" for repo in repos)
    assert [res.digest for res in results] == [img.digest for img in images]
    (auth,) = sealed.made  # one per registry, made by the ping
    assert auth.host == proxy.host and auth.challenge.realm == "imgdigest-test"
    assert auth.prepared == [set(repos)]  # once for the batch, before any request
    assert sorted(auth.asked) == repos
    user_password = f"{registry_basic.username}:{registry_basic.password}"
    expected = "Basic " + base64.b64encode(user_password.encode()).decode()
    # Sent with the first request, so the registry never had to refuse one.
    assert authorizations(proxy, "HEAD", MANIFEST) == [expected, expected]
    assert authorizations(proxy, "GET", "/v2/") == [None]  # the ping, which found the scheme


def test_an_unregistered_scheme_gets_no_credentials(
    sealed_registry, registry_basic, unique_repo, tmp_home
):
    push_image(registry_basic, unique_repo, "s")
    proxy = sealed_registry
    store_login(proxy, tmp_home)
    ref = f"{proxy.host}/{unique_repo}:s"
    with resolver(proxy, tmp_home) as r, pytest.raises(UnauthorizedError) as err:
        r.resolve(ref)
    assert str(err.value).startswith(f"{ref}: unauthorized (HTTP 401)")
    assert registry_basic.password not in str(err.value)
    # Asked once more after the 401, as for any scheme, and never with credentials.
    assert authorizations(proxy, "HEAD", MANIFEST) == [None, None]


@pytest.mark.parametrize("right", [True, False], ids=["right-password", "wrong-password"])
def test_login_is_checked_by_the_registered_authenticator(
    sealed, sealed_registry, registry_basic, tmp_home, right
):
    proxy = sealed_registry
    password = registry_basic.password if right else "not-the-password"
    store = CredentialStore(tmp_home / ".docker")
    store.set(proxy.host, Credential(registry_basic.username, password))

    async def login() -> None:
        async with Transport(RegistryOptions(retries=0), store) as transport:
            await transport.check_login(proxy.host)

    if right:
        asyncio.run(login())
    else:
        with pytest.raises(UnauthorizedError) as err:
            asyncio.run(login())
        assert str(err.value) == f"{proxy.host}: the registry refused these credentials"
        assert password not in str(err.value)
    (auth,) = sealed.made
    assert auth.logins == 1


def test_a_registered_scheme_keeps_the_transport_redirect_rule(
    sealed, sealed_registry, registry_basic, redirect_recorder, unique_repo, tmp_home
):
    push_index(registry_basic, unique_repo, "r")
    single = push_image(registry_basic, unique_repo, "single")
    proxy = sealed_registry
    recorder = redirect_recorder(registry_basic)
    proxy.redirect_to(recorder.url, path=r"/blobs/sha256:")
    store_login(proxy, tmp_home)
    with resolver(proxy, tmp_home) as r:
        res = r.resolve(f"{proxy.host}/{unique_repo}:single", platform="linux/amd64")
    assert res.digest == single.digest
    sent = authorizations(proxy, "GET", "/blobs/sha256:")
    assert sent and all(v and v.startswith("Basic ") for v in sent)  # the registry got it
    assert recorder.requests and recorder.authorization_headers() == []  # the other host not


def test_registration_order_is_preference_order(sealed):
    both = parse_challenges(f'{SEALED}, Basic realm="r", Bearer realm="https://a/t"')
    assert pick_challenge(both).scheme == "bearer"
    assert pick_challenge(both[:2]).scheme == "basic"  # registered before sealed
    assert pick_challenge(both[:1]).scheme == "sealed"
    assert pick_challenge(parse_challenges('Unknown x="1", Other y="2"')).scheme == "unknown"
    assert pick_challenge([]) is None
