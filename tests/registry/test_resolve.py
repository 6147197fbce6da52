"""Resolving references against a real distribution registry, in every auth mode."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from imgdigest.errors import (
    AuthError,
    NetworkError,
    NotFoundError,
    PlatformNotFoundError,
)
from tests.harness import push_image, push_index, push_nested_index
from tests.harness.images import build_image

from .helpers import resolver, store_login


def _ref(reg, repo, tag):
    return f"{reg.host}/{repo}:{tag}"


@pytest.mark.parametrize("media", ["oci", "docker"])
def test_single_platform_digest_is_sha256_of_pushed_manifest(
    registry_http, unique_repo, tmp_home, media
):
    img = push_image(registry_http, unique_repo, "v1", media=media)
    with resolver(registry_http, tmp_home) as r:
        res = r.resolve(_ref(registry_http, unique_repo, "v1"))
    assert res.digest == "sha256:" + hashlib.sha256(img.manifest_bytes).hexdigest()
    assert res.media_type == img.media_type
    assert res.size == len(img.manifest_bytes)
    assert res.kind == "manifest"


@pytest.mark.parametrize("media", ["oci", "docker"])
def test_index_digest_without_platform_and_child_with_one(
    registry_http, unique_repo, tmp_home, media
):
    idx = push_index(registry_http, unique_repo, "multi", media=media)
    ref = _ref(registry_http, unique_repo, "multi")
    by_arch = {c.platform: c.digest for c in idx.children}
    with resolver(registry_http, tmp_home) as r:
        top = r.resolve(ref)
        assert top.digest == idx.digest
        assert top.kind == "index"
        arm64 = r.resolve(ref, platform="linux/aarch64")
        armv7 = r.resolve(ref, platform="linux/armhf")
        amd64 = r.resolve(ref, platform="linux/x86_64")
    assert arm64.digest == by_arch[("linux", "arm64", "v8")]
    assert armv7.digest == by_arch[("linux", "arm", "v7")]
    assert amd64.digest == by_arch[("linux", "amd64", "")]
    assert amd64.index_digest == idx.digest
    assert amd64.kind == "platform manifest"


def test_platform_children_list_marks_attestations(registry_http, unique_repo, tmp_home):
    idx = push_index(registry_http, unique_repo, "att", attestations=True)
    with resolver(registry_http, tmp_home) as r:
        res = r.resolve(_ref(registry_http, unique_repo, "att"), children=True)
    attest = [c for c in res.children if c.attestation]
    images = [c for c in res.children if not c.attestation]
    assert len(attest) == len(idx.attestations) > 0
    assert {c.digest for c in images} == {c.digest for c in idx.children}


def test_arm_v6_request_does_not_take_v7_and_lists_available(registry_http, unique_repo, tmp_home):
    push_index(registry_http, unique_repo, "v7only")
    with resolver(registry_http, tmp_home) as r, pytest.raises(PlatformNotFoundError) as err:
        r.resolve(_ref(registry_http, unique_repo, "v7only"), platform="linux/arm/v6")
    msg = str(err.value)
    assert "linux/arm/v6" in msg and "linux/amd64" in msg and "linux/arm/v7" in msg
    assert "unknown" not in msg  # attestation entries are not platforms
    assert err.value.exit_code == 3


def test_arm_v7_request_falls_back_to_v6(registry_http, unique_repo, tmp_home):
    idx = push_index(
        registry_http, unique_repo, "v6", platforms=[("linux", "amd64", ""), ("linux", "arm", "v6")]
    )
    with resolver(registry_http, tmp_home) as r:
        res = r.resolve(_ref(registry_http, unique_repo, "v6"), platform="linux/arm/v7")
    assert res.digest == idx.children[1].digest


def test_best_candidate_wins_not_the_first(registry_http, unique_repo, tmp_home):
    # v5 listed before v7: an arm/v7 request must take v7, the better match.
    idx = push_index(
        registry_http,
        unique_repo,
        "order",
        platforms=[("linux", "arm", "v5"), ("linux", "arm", "v7")],
    )
    with resolver(registry_http, tmp_home) as r:
        res = r.resolve(_ref(registry_http, unique_repo, "order"), platform="linux/arm/v7")
    assert res.digest == idx.children[1].digest


def test_nested_index_is_descended(registry_http, unique_repo, tmp_home):
    inner = push_index(registry_http, unique_repo, "inner", attestations=False)
    outer = push_nested_index(registry_http, unique_repo, "outer", [inner])
    with resolver(registry_http, tmp_home) as r:
        res = r.resolve(_ref(registry_http, unique_repo, "outer"), platform="linux/arm64")
    assert res.digest == inner.children[1].digest
    assert res.index_digest == outer.digest


def test_single_platform_image_is_checked_against_requested_platform(
    registry_http, unique_repo, tmp_home
):
    img = push_image(registry_http, unique_repo, "amd", platform=("linux", "amd64"))
    ref = _ref(registry_http, unique_repo, "amd")
    with resolver(registry_http, tmp_home) as r:
        assert r.resolve(ref, platform="linux/amd64").digest == img.digest
        with pytest.raises(
            PlatformNotFoundError, match=r"single-platform image is linux/amd64, not linux/arm64"
        ):
            r.resolve(ref, platform="linux/arm64")


def test_by_digest_and_tag_at_digest(registry_http, unique_repo, tmp_home):
    img = push_image(registry_http, unique_repo, "d")
    with resolver(registry_http, tmp_home) as r:
        assert r.resolve(f"{registry_http.host}/{unique_repo}@{img.digest}").digest == img.digest
        res = r.resolve(f"{registry_http.host}/{unique_repo}:d@{img.digest}")
    assert res.digest == img.digest
    assert res.full_ref() == f"{registry_http.host}/{unique_repo}:d@{img.digest}"
    assert res.full_ref(keep_tag=False) == f"{registry_http.host}/{unique_repo}@{img.digest}"


def test_missing_tag_is_not_found_without_a_get(registry_http, unique_repo, tmp_home):
    push_image(registry_http, unique_repo, "there")
    registry_http.reset_count()
    with resolver(registry_http, tmp_home) as r, pytest.raises(NotFoundError) as err:
        r.resolve(_ref(registry_http, unique_repo, "absent"))
    assert str(err.value) == f"{_ref(registry_http, unique_repo, 'absent')}: not found"
    assert err.value.exit_code == 3
    manifests = f"^/v2/{unique_repo}/manifests/"
    assert registry_http.request_count("HEAD", manifests) == 1
    assert registry_http.request_count("GET", manifests) == 0


def test_tls_with_test_ca(registry_tls, unique_repo, tmp_home):
    img = push_image(registry_tls, unique_repo, "t")
    with resolver(registry_tls, tmp_home) as r:
        assert r.resolve(_ref(registry_tls, unique_repo, "t")).digest == img.digest


def test_tls_without_trusting_the_ca_is_a_clear_network_error(registry_tls, unique_repo, tmp_home):
    push_image(registry_tls, unique_repo, "t")
    from imgdigest.resolver import ResolveOptions, Resolver

    with Resolver(ResolveOptions(cache=False)) as r, pytest.raises(NetworkError) as err:
        r.resolve(_ref(registry_tls, unique_repo, "t"))
    assert "certificate" in str(err.value).lower()
    assert err.value.exit_code == 5


def test_basic_auth_with_stored_login(registry_basic, unique_repo, tmp_home):
    img = push_image(registry_basic, unique_repo, "b")
    store_login(registry_basic, tmp_home)
    with resolver(registry_basic, tmp_home) as r:
        assert r.resolve(_ref(registry_basic, unique_repo, "b")).digest == img.digest


@pytest.mark.parametrize("password", [None, "Not-The-Pass-9"])
def test_basic_auth_missing_or_wrong_credentials(registry_basic, unique_repo, tmp_home, password):
    push_image(registry_basic, unique_repo, "b")
    if password:
        store_login(registry_basic, tmp_home, password)
    with resolver(registry_basic, tmp_home) as r, pytest.raises(AuthError) as err:
        r.resolve(_ref(registry_basic, unique_repo, "b"))
    assert err.value.exit_code == 4
    assert "Not-The-Pass-9" not in str(err.value)
    assert registry_basic.password not in str(err.value)


def test_token_auth_batch_costs_one_token_request(registry_token, token_server, tmp_home):
    repos = [f"batch/app{i}" for i in range(6)]
    pushed = {r: push_image(registry_token, r, "1", seed=r) for r in repos}
    store_login(registry_token, tmp_home)
    token_server.reset()
    registry_token.reset_count()
    refs = [f"{registry_token.host}/{r}:1" for r in repos] * 3
    with resolver(registry_token, tmp_home) as r:
        results = r.resolve_many(refs)
    assert [x.digest for x in results] == [pushed[r].digest for r in repos] * 3
    assert token_server.request_count == 1
    # one ping and one HEAD per unique reference reach the registry, nothing else
    assert registry_token.request_count("GET", "^/v2/$") == 1
    assert registry_token.request_count("HEAD", "/manifests/") == len(repos)
    assert registry_token.request_count() == 1 + len(repos)


def test_token_auth_wrong_password_is_auth_error_without_secret(registry_token, tmp_home):
    push_image(registry_token, "tok/secret", "1")
    store_login(registry_token, tmp_home, "not-the-password")
    with resolver(registry_token, tmp_home) as r, pytest.raises(AuthError) as err:
        r.resolve(f"{registry_token.host}/tok/secret:1")
    assert "not-the-password" not in str(err.value)
    assert registry_token.host in str(err.value)


def test_anonymous_token_pull(registry_token, anonymous_pull, tmp_home):
    img = push_image(registry_token, "tok/public", "1")
    with resolver(registry_token, tmp_home) as r:
        assert r.resolve(f"{registry_token.host}/tok/public:1").digest == img.digest


def test_platform_lookup_reuses_cached_index(registry_http, unique_repo, tmp_home):
    idx = push_index(registry_http, unique_repo, "c")
    ref = _ref(registry_http, unique_repo, "c")
    with resolver(registry_http, tmp_home) as r:
        r.resolve(ref, platform="linux/arm64")
    registry_http.reset_count()
    with resolver(registry_http, tmp_home) as r:
        res = r.resolve(ref, platform="linux/arm64")
    assert res.index_digest == idx.digest
    manifests = f"^/v2/{unique_repo}/manifests/"
    assert registry_http.request_count("HEAD", manifests) == 1
    assert registry_http.request_count("GET", manifests) == 0


def test_resolve_many_keeps_order_and_reports_each_failure(registry_http, unique_repo, tmp_home):
    a = push_image(registry_http, unique_repo, "a", seed="a")
    b = push_image(registry_http, unique_repo, "b", seed="b")
    refs = [
        _ref(registry_http, unique_repo, "b"),
        "bad:tag:twice",
        _ref(registry_http, unique_repo, "zz"),
        _ref(registry_http, unique_repo, "a"),
    ]
    with resolver(registry_http, tmp_home) as r:
        out = r.resolve_many(refs)
    assert out[0].digest == b.digest and out[3].digest == a.digest
    assert isinstance(out[2], NotFoundError)
    assert out[1].exit_code == 2


def test_skopeo_agrees(registry_tls, unique_repo, tmp_home):
    import json
    import shutil
    import subprocess

    skopeo = shutil.which("skopeo")
    assert skopeo, "skopeo is missing: run `make test`, which installs it"
    idx = push_index(registry_tls, unique_repo, "sk")
    certs = tmp_home / "certs"
    certs.mkdir()
    (certs / "ca.crt").write_bytes(Path(registry_tls.ca_file).read_bytes())
    out = subprocess.run(
        [
            skopeo,
            "inspect",
            "--raw",
            "--cert-dir",
            str(certs),
            f"docker://{_ref(registry_tls, unique_repo, 'sk')}",
        ],
        capture_output=True,
        check=True,
    ).stdout
    shown = json.loads(
        subprocess.run(
            [
                skopeo,
                "inspect",
                "--cert-dir",
                str(certs),
                "--override-arch",
                "arm64",
                f"docker://{_ref(registry_tls, unique_repo, 'sk')}",
            ],
            capture_output=True,
            check=True,
        ).stdout
    )
    arm64 = idx.child("linux", "arm64", "v8")
    with resolver(registry_tls, tmp_home) as r:
        top = r.resolve(_ref(registry_tls, unique_repo, "sk"))
        child = r.resolve(_ref(registry_tls, unique_repo, "sk"), platform="linux/arm64")
    assert (
        top.digest == "sha256:" + hashlib.sha256(out).hexdigest() == idx.digest == shown["Digest"]
    )
    # skopeo picks the same arm64 manifest: same layers, same architecture
    assert child.digest == arm64.digest
    assert shown["Architecture"] == "arm64" and shown["Layers"] == arm64.layer_digests


def test_single_image_build_differs_per_seed():
    # guards the tests above: distinct seeds must give distinct digests
    assert build_image(seed="x").digest != build_image(seed="y").digest
