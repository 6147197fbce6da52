"""Faults a real registry will not produce on demand, injected by a proxy in front of it."""

from __future__ import annotations

import time

import pytest

from imgdigest.errors import (
    NetworkError,
    NotFoundError,
    RateLimitedError,
    RegistryTimeoutError,
    UnauthorizedError,
    VerificationError,
)
from imgdigest.registry.trace import Trace
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
    proxy, _img, ref = proxied
    proxy.method_not_allowed("HEAD", path=MANIFEST)
    proxy.tamper_body(path=MANIFEST)
    with resolver(proxy, tmp_home) as r, pytest.raises(VerificationError) as err:
        r.resolve(ref)
    assert err.value.exit_code == 6


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
    with resolver(proxy, tmp_home) as r, pytest.raises(VerificationError):
        r.resolve(f"{proxy.host}/{unique_repo}:idx", platform="linux/arm64")


@pytest.mark.parametrize("status", [401, 403, 404, 429])
def test_no_get_fallback_on_client_errors(proxied, tmp_home, status):
    proxy, _img, ref = proxied
    headers = {"Retry-After": "0"} if status == 429 else {}
    proxy.status_then_ok(status, times=100, path=MANIFEST, method="HEAD", headers=headers)
    with (
        resolver(proxy, tmp_home, retries=1) as r,
        pytest.raises((UnauthorizedError, NotFoundError, RateLimitedError, Exception)) as err,
    ):
        r.resolve(ref)
    assert err.value.exit_code in {3, 4, 5}
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
    assert "503" in str(err.value) and err.value.exit_code == 5
    assert proxy.count("HEAD", MANIFEST) == 3


def test_stalled_registry_times_out(proxied, tmp_home):
    proxy, _img, ref = proxied
    proxy.stall("headers", path=MANIFEST, max_stall=30)
    started = time.monotonic()
    with (
        resolver(proxy, tmp_home, timeout=0.5, retries=1) as r,
        pytest.raises(RegistryTimeoutError),
    ):
        r.resolve(ref)
    assert time.monotonic() - started < 5


def test_unreachable_registry_is_a_clear_network_error(tmp_home):
    from tests.harness import free_port

    host = f"127.0.0.1:{free_port()}"
    with resolver(None, tmp_home, retries=0) as r, pytest.raises(NetworkError) as err:
        r.resolve(f"{host}/a/b:1")
    assert host in str(err.value) and "refused" in str(err.value)


def test_authorization_does_not_follow_redirect_to_another_host(
    registry_basic, fault_proxy, redirect_recorder, unique_repo, tmp_home
):
    img = push_index(registry_basic, unique_repo, "r")
    proxy = fault_proxy(registry_basic)
    recorder = redirect_recorder(registry_basic)
    proxy.redirect_to(recorder.url, path=r"/blobs/sha256:")
    store_login(proxy, tmp_home)
    trace = Trace()
    single = push_image(registry_basic, unique_repo, "single")
    with resolver(proxy, tmp_home, trace=trace, insecure=(proxy.host,)) as r:
        res = r.resolve(f"{proxy.host}/{unique_repo}:single", platform="linux/amd64")
    assert res.digest == single.digest
    assert recorder.requests, "the config blob request should have been redirected"
    assert recorder.authorization_headers() == []
    assert img.digest  # the index push succeeded too


def test_credentials_are_not_sent_over_plain_http_unless_declared(
    registry_basic, fault_proxy, unique_repo, tmp_home
):
    push_image(registry_basic, unique_repo, "p")
    proxy = fault_proxy(registry_basic)  # plain HTTP in front of a basic-auth registry
    store_login(proxy, tmp_home)
    with resolver(proxy, tmp_home) as r, pytest.raises(Exception) as err:
        r.resolve(f"{proxy.host}/{unique_repo}:p")
    assert "plain HTTP" in str(err.value) and "--insecure" in str(err.value)
    assert proxy.password not in str(err.value)


def test_no_bearer_token_over_plain_http_unless_declared(
    registry_token, anonymous_pull, fault_proxy, unique_repo, tmp_home, test_ca
):
    img = push_image(registry_token, unique_repo, "tok")
    proxy = fault_proxy(registry_token)  # plain HTTP in front of a token-auth registry
    ref = f"{proxy.host}/{unique_repo}:tok"
    with resolver(proxy, tmp_home, ca_file=test_ca.ca_file) as r, pytest.raises(Exception) as err:
        r.resolve(ref)
    assert "plain HTTP" in str(err.value) and err.value.exit_code == 4
    assert proxy.count("HEAD", MANIFEST) == 0
    with resolver(proxy, tmp_home, ca_file=test_ca.ca_file, insecure=(proxy.host,)) as r:
        assert r.resolve(ref).digest == img.digest
