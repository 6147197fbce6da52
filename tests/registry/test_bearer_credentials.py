"""What the bearer authenticator trades at the realm for each kind of stored credential.

Against the real token-auth registry and the harness token server: a ``registrytoken``
from ``config.json`` is sent as it is, with no token request; an ``identitytoken`` is an
OAuth2 refresh token, POSTed to the realm as a form and never shown in a message.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imgdigest.errors import ServerError
from imgdigest.registry.auth import TokenCache
from tests.harness import RegistryServer, TokenServer, push_image

from .helpers import resolver


def _config(home: Path, host: str, entry: dict[str, str]) -> None:
    (home / ".docker" / "config.json").write_text(json.dumps({"auths": {host: entry}}))


def test_a_registry_token_is_sent_without_asking_the_realm(
    registry_token: RegistryServer, token_server: TokenServer, unique_repo, tmp_home
):
    img = push_image(registry_token, unique_repo, "rt")
    scope = f"repository:{unique_repo}:pull"
    token, _ = token_server.issue(token_server.username, token_server.service, [scope])
    _config(tmp_home, registry_token.host, {"registrytoken": token})
    token_server.reset()
    with resolver(registry_token, tmp_home) as r:
        assert r.resolve(f"{registry_token.host}/{unique_repo}:rt").digest == img.digest
    assert token_server.requests == []  # the registry itself accepted the stored token


def test_an_identity_token_is_posted_as_an_oauth2_refresh_token(
    registry_token: RegistryServer, token_server: TokenServer, unique_repo, tmp_home
):
    secret = "refresh-s3cret-" + "x" * 16
    _config(tmp_home, registry_token.host, {"username": "tester", "identitytoken": secret})
    token_server.reset()
    ref = f"{registry_token.host}/{unique_repo}:1"
    with resolver(registry_token, tmp_home) as r, pytest.raises(ServerError) as err:
        r.resolve(ref)
    # The harness token server grants passwords only: it answers 400 to a refresh token.
    assert str(err.value) == (
        f"{ref}: token service {token_server.host} for {registry_token.host}: "
        "registry answered HTTP 400"
    )
    assert secret not in str(err.value)
    form = (
        f"grant_type=refresh_token&refresh_token={secret}&client_id=imgdigest"
        f"&scope=repository:{unique_repo}:pull&service={token_server.service}"
    )
    # One token request, a POST, never a GET.
    assert [tuple(req) for req in token_server.requests] == [("POST", "/token", form)]


def test_a_cached_token_never_shows_in_a_repr():
    cache = TokenCache()
    cache.put(["repository:a:pull"], "s3cret-token", 300)
    assert cache.get("repository:a:pull") == "s3cret-token"
    assert "s3cret" not in repr(cache)
