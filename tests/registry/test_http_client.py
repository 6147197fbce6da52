"""The HTTP client under the transport, through a proxy in front of the real registry.

The distribution registry answers every manifest with a Content-Length and no encoding;
other registries, CDNs and proxies send chunked bodies, bodies that end with the
connection, gzip or deflate, and sometimes drop a kept-alive connection just as a request
arrives. The proxy re-frames the registry's real answers so that each framing is read
here byte for byte (manifests are verified against their digests), and breaks them so
that each failure has its one-line message.
"""

from __future__ import annotations

import asyncio
import hashlib
import os

import pytest

from imgdigest import Client
from imgdigest.errors import NetworkError
from imgdigest.registry.http import HttpClient
from tests.harness import RegistryClient, push_image
from tests.harness.images import push_blob

from .helpers import options, resolver, run_cli

MANIFEST = r"/manifests/"


@pytest.fixture
def proxied(registry_http, fault_proxy, unique_repo):
    img = push_image(registry_http, unique_repo, "x", layers=2)
    proxy = fault_proxy(registry_http)
    return proxy, img, f"{proxy.host}/{unique_repo}:x"


@pytest.mark.parametrize("framing", ["chunked", "close", "gzip", "deflate"])
def test_every_framing_reads_the_exact_manifest(proxied, tmp_home, framing):
    proxy, img, ref = proxied
    proxy.reframe(framing, path=MANIFEST)
    with Client(options(proxy, tmp_home, cache=False)) as client:
        info = client.manifest(ref)
    assert info.raw == img.manifest_bytes
    assert info.digest == img.digest
    assert proxy.count("GET", MANIFEST) == 1


def test_a_body_that_ends_with_its_connection_is_not_reused(proxied, tmp_home):
    proxy, _img, ref = proxied
    proxy.reframe("close", path=MANIFEST)
    with Client(options(proxy, tmp_home, cache=False)) as client:
        client.manifest(ref)
        before = proxy.connections
        client.manifest(ref)
        after = proxy.connections
    # The second GET needs a new connection: the first one ended with its body.
    assert after == before + 1


def test_keep_alive_answers_share_one_connection(proxied, tmp_home):
    proxy, img, ref = proxied
    with Client(options(proxy, tmp_home, cache=False)) as client:
        assert client.resolve(ref).digest == img.digest
        opened = proxy.connections  # the scheme probe's, and the one kept alive
        for _ in range(5):
            assert client.resolve(ref).digest == img.digest
    assert proxy.count("HEAD", MANIFEST) == 6
    assert proxy.connections == opened


@pytest.mark.parametrize(
    ("framing", "why"),
    [
        ("chunked_cut", "the answer was cut short (the chunked body did not end)"),
        ("gzip_cut", "the answer's compressed body ended early"),
    ],
)
def test_a_broken_body_is_a_network_error(proxied, tmp_home, framing, why):
    proxy, _img, ref = proxied
    proxy.reframe(framing, path=MANIFEST)
    client = Client(options(proxy, tmp_home, cache=False, retries=0))
    with client, pytest.raises(NetworkError) as err:
        client.manifest(ref)
    assert str(err.value) == f"{ref}: {proxy.host}: {why}"


def test_garbage_instead_of_http_is_named(proxied, tmp_home):
    proxy, _img, ref = proxied
    proxy.garbage(path=MANIFEST)
    with resolver(proxy, tmp_home, cache=False, retries=0) as r, pytest.raises(NetworkError) as err:
        r.resolve(ref)
    assert str(err.value) == (
        f"{ref}: {proxy.host}: not an HTTP answer (Expected HTTP/, RTSP/ or ICE/)"
    )


def test_a_dropped_kept_alive_connection_is_asked_again_once(proxied, tmp_home):
    proxy, img, ref = proxied
    with resolver(proxy, tmp_home, cache=False, retries=0) as r:
        assert r.resolve(ref).digest == img.digest  # opens the connection
        opened = proxy.connections
        proxy.hang_up(path=MANIFEST, method="HEAD", times=1)
        # No retries allowed above: the client itself sends it again on a new connection.
        assert r.resolve(ref).digest == img.digest
    assert proxy.count("HEAD", MANIFEST) == 3
    assert proxy.connections == opened + 1


def test_a_hang_up_on_a_new_connection_is_an_error(proxied, tmp_home):
    proxy, _img, ref = proxied
    # The first request (the API check) is the one on a new connection.
    proxy.hang_up(path=r"^/v2/$", method="GET", times=2)
    with resolver(proxy, tmp_home, cache=False, retries=0) as r, pytest.raises(NetworkError) as err:
        r.resolve(ref)
    assert str(err.value).endswith(f"{proxy.host} closed the connection before answering")
    assert proxy.count("HEAD", MANIFEST) == 0


def test_no_more_connections_per_host_than_the_concurrency(
    registry_http, fault_proxy, unique_repo, tmp_home
):
    images = [push_image(registry_http, unique_repo, f"t{i}") for i in range(24)]
    proxy = fault_proxy(registry_http)
    proxy.delay(20, path=MANIFEST)
    refs = [f"{proxy.host}/{unique_repo}:t{i}" for i in range(24)]
    with Client(options(proxy, tmp_home, cache=False, concurrency=3)) as client:
        first = client.resolve(refs[0])
        opened = proxy.connections  # the scheme probe's, and one kept alive
        got = [first, *client.resolve_many(refs[1:])]
    assert [g.digest for g in got] == [i.digest for i in images]  # type: ignore[union-attr]
    assert proxy.count("HEAD", MANIFEST) == 24
    assert proxy.connections == opened + 2


def test_a_blob_larger_than_the_read_buffer_streams_intact(
    registry_http, fault_proxy, unique_repo, tmp_home
):
    data = os.urandom(9 * 1024 * 1024 + 17)
    with RegistryClient(registry_http) as witness:
        digest = push_blob(witness, unique_repo, data)
    proxy = fault_proxy(registry_http)
    with Client(options(proxy, tmp_home)) as client:
        sha = hashlib.sha256()
        size = 0
        for chunk in client.blob(f"{proxy.host}/{unique_repo}@{digest}"):
            sha.update(chunk)
            size += len(chunk)
    assert (size, f"sha256:{sha.hexdigest()}") == (len(data), digest)


def test_a_header_with_a_line_break_is_never_sent(registry_http):
    async def send() -> None:
        client = HttpClient(timeout=5, user_agent="t", ca_file=None, per_host=1)
        try:
            await client.send(
                "GET",
                f"{registry_http.url}/v2/",
                {"Authorization": "Bearer x\r\nX-Injected: 1"},
                None,
                True,
                registry_http.host,
            )
        finally:
            await client.aclose()

    with pytest.raises(NetworkError) as err:
        asyncio.run(send())
    assert str(err.value) == f"{registry_http.host}: refusing to send a header with a line break"


def test_refused_on_every_address_of_a_name_says_refused(tmp_home):
    # localhost has two addresses here (::1 and 127.0.0.1); both refuse.
    done = run_cli("digest", "--insecure", "localhost:9", "localhost:9/x:1")
    assert done.returncode == 5, done.stderr
    assert done.stderr.strip().endswith("cannot reach localhost:9: connection refused")
