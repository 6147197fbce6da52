"""Plain HTTP, ``--insecure HOST`` and credentials: one meaning, no wasted round trips.

The registries are real (the harness's distribution registry); a plain-HTTP fault
proxy in front of a TLS registry makes a plain-HTTP registry with auth, and counts
connections, so an HTTPS probe is seen server-side even though it never becomes a
request. ``0.0.0.0:PORT`` reaches the same loopback listener under a name that is not
loopback, which is how the strict rule for every other host is exercised here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgdigest.errors import NetworkError
from imgdigest.registry.credentials import login
from tests.harness import FaultProxy, RegistryServer, TestCA, TokenServer, free_port, push_image

from .helpers import resolver, run_cli, store_login

MANIFEST = r"/manifests/"


class _RealmTokenServer(TokenServer):
    """A plain-HTTP token server whose realm names ``realm_host`` instead of 127.0.0.1."""

    realm_host = "127.0.0.1"

    @property
    def realm(self) -> str:
        return f"http://{self.realm_host}:{self.port}/token"


@pytest.fixture(scope="module")
def plain_tokens(
    tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA
) -> Iterator[tuple[TokenServer, RegistryServer, RegistryServer]]:
    """One plain-HTTP token server; a registry whose realm is on loopback, one on 0.0.0.0."""
    tokens = _RealmTokenServer(tls=False).start()
    near = RegistryServer(
        "token", ca=test_ca, token_server=tokens, workdir=tmp_path_factory.mktemp("near")
    ).start()
    tokens.realm_host = "0.0.0.0"
    far = RegistryServer(
        "token", ca=test_ca, token_server=tokens, workdir=tmp_path_factory.mktemp("far")
    ).start()
    yield tokens, near, far
    near.stop()
    far.stop()
    tokens.stop()


def _authorized(proxy: FaultProxy) -> list[str]:
    return [r.path for r in proxy.requests if "authorization" in {k.lower() for k in r.headers}]


# -- 1. one meaning of --insecure ----------------------------------------------------


def test_insecure_before_a_reference_is_a_usage_error_naming_it(tmp_home):
    p = run_cli("digest", "--insecure", "127.0.0.1:5999/team/app:1")
    assert p.returncode == 2
    assert p.stderr.splitlines()[-1] == (
        "imgdigest digest: --insecure: expects a registry HOST[:PORT] such as "
        "127.0.0.1:5000, not '127.0.0.1:5999/team/app:1' (write --insecure HOST before the "
        "references)"
    )


def test_login_takes_insecure_host_like_every_command(tmp_home, registry_basic, fault_proxy):
    proxy = fault_proxy(registry_basic)
    far = f"0.0.0.0:{proxy.host.rsplit(':', 1)[1]}"
    user, password = registry_basic.username, registry_basic.password
    p = run_cli("login", far, "-u", user, "--password-stdin", "--insecure", far, stdin=password)
    assert p.returncode == 0, p.stderr
    assert p.stderr.startswith(f"Login credentials for {far} saved in ")
    assert password not in p.stderr
    assert _authorized(proxy) == ["/v2/"]
    # the old switch form no longer swallows the next option silently
    p = run_cli("login", far, "--insecure", "-u", user, "--password-stdin", stdin=password)
    assert p.returncode == 2
    assert p.stderr.splitlines()[-1] == "imgdigest login: --insecure: expected one argument"


def test_login_to_a_non_loopback_plain_http_registry_needs_insecure(
    tmp_home, registry_basic, fault_proxy
):
    proxy = fault_proxy(registry_basic)
    far = f"0.0.0.0:{proxy.host.rsplit(':', 1)[1]}"
    p = run_cli("login", far, "-u", "tester", "--password-stdin", stdin=registry_basic.password)
    assert p.returncode == 5
    assert p.stderr.strip() == (
        f"imgdigest: error: cannot reach {far}: TLS handshake failed (a plain-HTTP registry? "
        f"declare it with --insecure {far})"
    )
    assert proxy.requests == []
    assert not (tmp_home / ".docker" / "config.json").exists()


# -- 2. loopback and token services --------------------------------------------------


def test_loopback_plain_http_registry_gets_saved_credentials(
    registry_basic, fault_proxy, unique_repo, tmp_home
):
    img = push_image(registry_basic, unique_repo, "p")
    proxy = fault_proxy(registry_basic)  # plain HTTP on 127.0.0.1 in front of basic auth
    store_login(proxy, tmp_home)
    with resolver(proxy, tmp_home) as r:
        assert r.resolve(f"{proxy.host}/{unique_repo}:p").digest == img.digest
    assert _authorized(proxy) == [f"/v2/{unique_repo}/manifests/p"]


def test_login_and_digest_with_token_service_on_a_second_loopback_port(
    plain_tokens, fault_proxy, unique_repo, tmp_home
):
    tokens, near, _ = plain_tokens
    img = push_image(near, unique_repo, "t")
    proxy = fault_proxy(near)
    user = tokens.username
    p = run_cli("login", proxy.host, "-u", user, "--password-stdin", stdin=tokens.password)
    assert p.returncode == 0, p.stderr
    tokens.reset()
    d = run_cli("digest", f"{proxy.host}/{unique_repo}:t")
    assert (d.returncode, d.stdout.strip()) == (0, img.digest), d.stderr
    assert [t.user for t in tokens.issued] == [tokens.username]
    assert tokens.password not in d.stderr


def test_plain_token_service_on_another_host_is_refused_and_named(
    plain_tokens, fault_proxy, unique_repo, tmp_home
):
    tokens, _, far = plain_tokens
    img = push_image(far, unique_repo, "f")
    proxy = fault_proxy(far)
    store_login(proxy, tmp_home, tokens.password)
    realm_host = f"0.0.0.0:{tokens.port}"
    ref = f"{proxy.host}/{unique_repo}:f"
    tokens.reset()
    d = run_cli("digest", ref)
    assert d.returncode == 4
    assert d.stderr.strip() == (
        f"imgdigest: error: {ref}: token service for {proxy.host} is plain HTTP ({realm_host}); "
        f"refusing to send credentials to it; declare it insecure (--insecure {realm_host}) "
        "if that is intended"
    )
    assert tokens.requests == [] and proxy.count("HEAD", MANIFEST) == 0
    d = run_cli("digest", "--insecure", realm_host, ref)
    assert (d.returncode, d.stdout.strip()) == (0, img.digest), d.stderr


def test_insecure_registry_vouches_for_its_token_service_on_the_same_host(
    plain_tokens, fault_proxy, unique_repo, tmp_home
):
    tokens, _, far = plain_tokens
    img = push_image(far, unique_repo, "s")
    proxy = fault_proxy(far)
    host = f"0.0.0.0:{proxy.host.rsplit(':', 1)[1]}"
    login(host, tokens.username, tokens.password, tmp_home / ".docker")
    with resolver(None, tmp_home, insecure=(host,)) as r:
        assert r.resolve(f"{host}/{unique_repo}:s").digest == img.digest


# -- 3. no wasted round trips ----------------------------------------------------------


def test_declared_insecure_registry_gets_no_https_probe(
    registry_http, fault_proxy, unique_repo, tmp_home
):
    img = push_image(registry_http, unique_repo, "i")
    proxy = fault_proxy(registry_http)
    d = run_cli("digest", "--no-cache", "--insecure", proxy.host, f"{proxy.host}/{unique_repo}:i")
    assert (d.returncode, d.stdout.strip()) == (0, img.digest), d.stderr
    assert proxy.connections == 1
    assert proxy.count() == 2  # the ping and the HEAD, on one connection


def test_loopback_scheme_is_remembered_across_runs_and_forgotten_on_failure(
    registry_http, fault_proxy, unique_repo, tmp_home
):
    img = push_image(registry_http, unique_repo, "c")
    proxy = fault_proxy(registry_http)
    ref = f"{proxy.host}/{unique_repo}:c"
    assert run_cli("digest", ref).stdout.strip() == img.digest
    assert proxy.connections == 2  # the HTTPS probe, then plain HTTP
    schemes = tmp_home / ".cache" / "imgdigest" / "schemes.json"
    assert json.loads(schemes.read_text()) == {proxy.host: "http"}
    assert run_cli("digest", ref).stdout.strip() == img.digest
    assert proxy.connections == 3  # remembered: no probe this time
    proxy.stop()
    d = run_cli("digest", ref)
    assert d.returncode == 5
    assert json.loads(schemes.read_text()) == {}  # a registry there again is probed afresh


def test_refused_connection_is_one_fast_error(tmp_home):
    host = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    d = run_cli("digest", f"{host}/a/b:1", f"{host}/a/c:1")
    elapsed = time.monotonic() - started
    assert d.returncode == 5
    assert d.stderr.splitlines() == [
        f"imgdigest: error: {host}/a/b:1: cannot reach {host}: connection refused",
        f"imgdigest: error: {host}/a/c:1: cannot reach {host}: connection refused",
    ]
    assert elapsed < 2.0  # was 3.9 s of retries; most of what is left is Python starting


def test_refused_connection_is_not_retried_by_the_library(tmp_home):
    host = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    with resolver(None, tmp_home, backoff=0.5) as r, pytest.raises(NetworkError) as err:
        r.resolve(f"{host}/a/b:1")
    assert time.monotonic() - started < 0.4  # a single retry would sleep >= 0.25 s
    assert str(err.value) == f"{host}/a/b:1: cannot reach {host}: connection refused"
    assert (err.value.exit_code, err.value.host, err.value.reference) == (
        5,
        host,
        f"{host}/a/b:1",
    )


def test_missing_ca_file_is_a_usage_error(tmp_home, tmp_path: Path):
    missing = tmp_path / "nope.pem"
    d = run_cli("digest", "--ca-file", str(missing), "127.0.0.1:5999/a/b:1")
    assert (d.returncode, d.stderr.strip()) == (
        2,
        f"imgdigest: error: --ca-file {missing}: no such file",
    )
    p = run_cli(
        "login", "127.0.0.1:5999", "-u", "u", "--password-stdin", "--ca-file", str(missing),
        stdin="x",
    )
    assert (p.returncode, p.stderr.strip()) == (
        2,
        f"imgdigest: error: --ca-file {missing}: no such file",
    )
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    d = run_cli("digest", "--ca-file", str(bad), "127.0.0.1:5999/a/b:1")
    assert (d.returncode, d.stderr.strip()) == (
        2,
        f"imgdigest: error: --ca-file {bad}: not a PEM file of certificates",
    )

