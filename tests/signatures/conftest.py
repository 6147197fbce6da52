"""Keys and clients for the signature tests (keys made by the harness, not by imgdigest)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from imgdigest.client import Client
from imgdigest.registry.options import RegistryOptions
from imgdigest.resolver import ResolveOptions
from tests.harness import signing


@pytest.fixture
def key(tmp_path: Path) -> tuple[signing.PrivateKey, str]:
    """An ECDSA P-256 signing key and the path of its PEM public key."""
    private = signing.new_key("p256")
    path = tmp_path / "cosign.pub"
    path.write_bytes(signing.public_pem(private))
    return private, str(path)


@pytest.fixture
def client_for(tmp_home: Path) -> Iterator[Callable[[str], Client]]:
    """``client_for(host)``: a Client that talks plain HTTP to ``host``."""
    made: list[Client] = []

    def make(host: str) -> Client:
        options = ResolveOptions(registry=RegistryOptions(insecure=(host,)))
        client = Client(options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
