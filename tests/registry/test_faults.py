"""Faults a real registry will not produce on demand, injected by a proxy in front of it."""

from __future__ import annotations

import time

import pytest

from imgdigest.errors import (
    ForbiddenError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    RegistryTimeoutError,
    UnauthorizedError,
    VerificationError,
)
from imgdigest.registry.credentials import login
from tests.harness import push_image, push_index

from .helpers import resolver, store_login

MANIFEST = r"/manifests/"


@pytest.fixture
def proxied(registry_http, fault_proxy, unique_repo):
    img = push_image(registry_http, unique_repo, "x")
    proxy = fault_proxy(registry_http)
    return proxy, img, f"{proxy.host}/{unique_repo}:x"


def test_missing_digest_header_falls_back_to_get_and_hashes_bytes(proxied, tmp_home):
    proxy, img, ref = proxied
    proxy.drop_header("Docker-Content-Digest", path=MANIFEST)
    with resolver(proxy, tmp_home) as r:
        assert r.resolve(ref).digest == img.digest
    assert proxy.count("HEAD", MANIFEST) == 1 and proxy.count("GET", MANIFEST) == 1


def test_head_not_allowed_falls_back_to_get(proxied, tmp_home):
    proxy, img, ref = proxied
    proxy.method_not_allowed("HEAD", path=MANIFEST)
    with resolver(proxy, tmp_home) as r:
        assert r.resolve(ref).digest == img.digest
    assert proxy.count("GET", MANIFEST) == 1


def test_tampered_manifest_fails_verification_against_announced_digest(proxied, tmp_home):
    proxy, img, ref = proxied
    proxy.method_not_allowed("HEAD", path=MANIFEST)
    proxy.tamper_body(path=MANIFEST)
    with resolver(proxy, tmp_home) as r, pytest.raises(VerificationError) as err:
        r.resolve(ref)
    assert err.value.exit_code == 6
    assert str(err.value).startswith(
        f"{ref}: manifest content does not match the announced digest {img.digest}; got sha256:"
    )
    assert proxy.count("HEAD", MANIFEST) == 1 and proxy.count("GET", MANIFEST) == 1


def test_tampered_manifest_fetched_by_digest_fails(proxied, tmp_home):
    proxy, img, _ = proxied
    proxy.method_not_allowed("HEAD", path=MANIFEST)
    proxy.tamper_body(path=MANIFEST)
    ref = f"{proxy.host}/{img.repo}@{img.digest}"
    with resolver(proxy, tmp_home) as r, pytest.raises(VerificationError, match=img.digest):
        r.resolve(ref)


def test_tampered_index_is_never_used_for_platform_choice(
    registry_http, fault_proxy, unique_repo, tmp_home
):
    push_index(registry_http, unique_repo, "idx")
    proxy = fault_proxy(registry_http)
    proxy.tamper_body(path=MANIFEST)
    with resolver(proxy, tmp_home) as r, pytest.raises(VerificationError) as err:
        r.resolve(f"{proxy.host}/{unique_repo}:idx", platform="linux/arm64")
    assert err.value.exit_code == 6
    assert "manifest content does not match" in str(err.value)


@pytest.mark.parametrize(
    ("status", "error", "code", "reason", "heads"),
    [
        (401, UnauthorizedError, 4, "unauthorized (HTTP 401); log in with: imgdigest login {h}", 1),
        (403, ForbiddenError, 4, "access denied (HTTP 403)", 1),
        (404, NotFoundError, 3, "not found", 1),
        (429, RateLimitedError, 5, "rate limited by the registry (HTTP 429)", 2),
    ],
)
def test_no_get_fallback_on_client_errors(proxied, tmp_home, status, error, code, reason, heads):
    proxy, _img, ref = proxied
    headers = {"Retry-After": "0"} if status == 429 else {}
    proxy.status_then_ok(status, times=100, path=MANIFEST, method="HEAD", headers=headers)
    with resolver(proxy, tmp_home, retries=1) as r, pytest.raises(error) as err:
        r.resolve(ref)
    assert type(err.value) is error and err.value.exit_code == code
    assert str(err.value) == f"{ref}: {reason.format(h=proxy.host)}"
    assert (err.value.reference, err.value.host) == (ref, proxy.host)
    assert proxy.count("HEAD", MANIFEST) == heads  # 429 is retried once, the others never
    assert proxy.count("GET", MANIFEST) == 0


def test_429_with_retry_after_is_honoured_then_succeeds(proxied, tmp_home):
    proxy, img, ref = proxied
    proxy.status_then_ok(429, times=1, path=MANIFEST, method="HEAD", headers={"Retry-After": "1"})
    started = time.monotonic()
    with resolver(proxy, tmp_home) as r:
        assert r.resolve(ref).digest == img.digest
    assert time.monotonic() - started >= 0.9
    assert proxy.count("HEAD", MANIFEST) == 2


def test_503_then_success_is_retried(proxied, tmp_home):
    proxy, img, ref = proxied
    proxy.status_then_ok(503, times=2, path=MANIFEST, method="HEAD")
    with resolver(proxy, tmp_home) as r:
        assert r.resolve(ref).digest == img.digest
    assert proxy.count("HEAD", MANIFEST) == 3


def test_persistent_503_is_a_network_error_after_retries(proxied, tmp_home):
    proxy, _img, ref = proxied
    proxy.status_then_ok(503, times=100, path=MANIFEST, method="HEAD")
    with resolver(proxy, tmp_home, retries=2) as r, pytest.raises(NetworkError) as err:
        r.resolve(ref)
    assert err.value.exit_code == 5
    assert str(err.value) == f"{ref}: registry answered HTTP 503"
    assert proxy.count("HEAD", MANIFEST) == 3


def test_stalled_registry_times_out(proxied, tmp_home):
    proxy, _img, ref = proxied
    proxy.stall("headers", path=MANIFEST, max_stall=30)
    started = time.monotonic()
    with (
        resolver(proxy, tmp_home, timeout=0.5, retries=1) as r,
        pytest.raises(RegistryTimeoutError) as err,
    ):
        r.resolve(ref)
    assert time.monotonic() - started < 5
    assert err.value.exit_code == 5
    assert str(err.value) == f"{ref}: {proxy.host} did not answer in time"
    assert proxy.count("HEAD", MANIFEST) == 2  # a timeout is retried once, then it is final


def test_unreachable_registry_is_a_clear_network_error(tmp_home):
    from tests.harness import free_port

    host = f"127.0.0.1:{free_port()}"
    with resolver(None, tmp_home, retries=0) as r, pytest.raises(NetworkError) as err:
        r.resolve(f"{host}/a/b:1")
    assert err.value.exit_code == 5
    assert str(err.value) == f"{host}/a/b:1: cannot reach {host}: connection refused"


def test_authorization_does_not_follow_redirect_to_another_host(
    registry_basic, fault_proxy, redirect_recorder, unique_repo, tmp_home
):
    img = push_index(registry_basic, unique_repo, "r")
    proxy = fault_proxy(registry_basic)
    recorder = redirect_recorder(registry_basic)
    proxy.redirect_to(recorder.url, path=r"/blobs/sha256:")
    store_login(proxy, tmp_home)
    single = push_image(registry_basic, unique_repo, "single")
    with resolver(proxy, tmp_home, insecure=(proxy.host,)) as r:
        res = r.resolve(f"{proxy.host}/{unique_repo}:single", platform="linux/amd64")
    assert res.digest == single.digest
    assert recorder.requests, "the config blob request should have been redirected"
    assert recorder.authorization_headers() == []
    assert img.digest  # the index push succeeded too


def test_credentials_are_not_sent_over_plain_http_unless_declared(
    registry_basic, fault_proxy, unique_repo, tmp_home
):
    img = push_image(registry_basic, unique_repo, "p")
    proxy = fault_proxy(registry_basic)  # plain HTTP in front of a basic-auth registry
    # 0.0.0.0 reaches the proxy but is not a loopback name: the strict rule applies.
    host = f"0.0.0.0:{proxy.host.rsplit(':', 1)[1]}"
    login(host, registry_basic.username, registry_basic.password, tmp_home / ".docker")
    ref = f"{host}/{unique_repo}:p"
    with resolver(None, tmp_home) as r, pytest.raises(NetworkError) as err:
        r.resolve(ref)
    assert err.value.exit_code == 5
    assert str(err.value) == (
        f"{ref}: cannot reach {host}: TLS handshake failed (a plain-HTTP registry? declare it "
        f"with --insecure {host})"
    )
    assert proxy.requests == []  # only a TLS handshake reached it: no request, no password
    with resolver(None, tmp_home, insecure=(host,)) as r:
        assert r.resolve(ref).digest == img.digest
    assert proxy.count("GET", "^/v2/$") == 1  # declared insecure: no HTTPS probe, one ping


def test_no_bearer_token_over_plain_http_to_an_undeclared_host(
    registry_token, anonymous_pull, fault_proxy, unique_repo, tmp_home, test_ca
):
    img = push_image(registry_token, unique_repo, "tok")
    proxy = fault_proxy(registry_token)  # plain HTTP in front of a token-auth registry
    host = f"0.0.0.0:{proxy.host.rsplit(':', 1)[1]}"
    ref = f"{host}/{unique_repo}:tok"
    with resolver(None, tmp_home, ca_file=test_ca.ca_file) as r, pytest.raises(NetworkError) as err:
        r.resolve(ref)
    assert err.value.exit_code == 5 and f"--insecure {host}" in str(err.value)
    assert proxy.requests == []
    with resolver(None, tmp_home, ca_file=test_ca.ca_file, insecure=(host,)) as r:
        assert r.resolve(ref).digest == img.digest
    assert proxy.count("HEAD", MANIFEST) == 1
