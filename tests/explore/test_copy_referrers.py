"""copy carries referrers: registry -> registry -> layout -> registry, byte for byte.

Expected digests and bytes come from the harness that built and pushed the referrers;
what arrived is read back with the harness client (registries) or from the files
(layouts), never through imgdigest.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import PushedImage, RegistryClient, push_index
from tests.harness.referrers import (
    ReferrersFront,
    build_attestation_artifact,
    build_cosign_signature,
    build_sbom,
    push_cosign,
    push_referrer,
    tag_of,
)
from tests.registry.helpers import store_login

from .helpers import cli


@pytest.fixture
def front(registry_http, test_ca) -> Iterator[ReferrersFront]:
    proxy = ReferrersFront(registry_http, page_size=2).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def attached(registry_http, unique_repo, tmp_home):
    """An index with an SBOM, an attestation on a platform manifest, a cosign signature,
    and a signature of the attestation (a referrer of a referrer)."""
    idx = push_index(registry_http, unique_repo, "v1")
    child = idx.child("linux", "amd64")
    sbom = push_referrer(registry_http, unique_repo, build_sbom(idx), idx)
    att = push_referrer(registry_http, unique_repo, build_attestation_artifact(child), child)
    sig = push_cosign(registry_http, unique_repo, build_cosign_signature(idx), idx)
    att_sig = push_referrer(
        registry_http, unique_repo, build_cosign_signature(att, with_subject=True), att
    )
    subjects = {sbom.digest: idx, att.digest: child, att_sig.digest: att}
    return idx, {"sbom": sbom, "att": att, "sig": sig, "att_sig": att_sig}, subjects


def _in_registry(endpoint, repo: str, arts: dict[str, PushedImage]) -> None:
    with RegistryClient(endpoint) as client:
        for art in arts.values():
            got = client.get_manifest(repo, art.digest, art.media_type)
            assert got.status_code == 200, art.digest
            assert got.content == art.manifest_bytes
            for digest, data in art.blobs.items():
                assert client.get_blob(repo, digest).content == data


def _schema_index(endpoint, repo: str, subject: str) -> list[str]:
    with RegistryClient(endpoint) as client:
        got = client.get_manifest(repo, tag_of(subject), "application/vnd.oci.image.index.v1+json")
        if got.status_code == 404:
            return []
        return [d["digest"] for d in json.loads(got.content)["manifests"]]


def _tag_digest(endpoint, repo: str, tag: str) -> str | None:
    with RegistryClient(endpoint) as client:
        got = client.get_manifest(repo, tag)
        return got.headers.get("Docker-Content-Digest") if got.status_code == 200 else None


def _in_layout(root: Path, arts: dict[str, PushedImage]) -> list[dict]:
    def blob(digest: str) -> bytes:
        return (root / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()

    for art in arts.values():
        assert blob(art.digest) == art.manifest_bytes
        for digest, data in art.blobs.items():
            assert blob(digest) == data
    return json.loads((root / "index.json").read_text())["manifests"]


def _copy(capsysbinary, *argv: str) -> dict:
    code, out, err = cli(capsysbinary, "copy", *argv, "--format", "json", "-q")
    assert code == 0, err
    return json.loads(out)


def test_referrers_travel_through_every_hop(
    attached, registry_http, front, unique_repo, tmp_path, capsysbinary
):
    idx, arts, subjects = attached
    src = f"{registry_http.host}/{unique_repo}"

    # hop 1: registry -> registry without the referrers API: the tag schema is kept
    mirror = f"{unique_repo}-mirror"
    report = _copy(capsysbinary, f"{src}:v1", f"{registry_http.host}/{mirror}:v1")
    assert report["digest"] == idx.digest
    assert (report["referrers"], report["referrers_skipped"]) == (4, 0)
    _in_registry(registry_http, mirror, arts)
    for art, subject in subjects.items():
        assert art in _schema_index(registry_http, mirror, subject.digest)
    assert _tag_digest(registry_http, mirror, tag_of(idx.digest, "sig")) == arts["sig"].digest

    registry_http.reset_count()
    again = _copy(capsysbinary, f"{src}:v1", f"{registry_http.host}/{mirror}:v1")
    assert (again["referrers"], again["referrers_skipped"]) == (4, 4)
    assert registry_http.request_count("POST", r"/blobs/uploads/") == 0
    assert registry_http.request_count("PUT") == 1  # the tag, as for any copy

    # hop 2: registry -> OCI layout: referrers in index.json
    layout = tmp_path / "layout"
    report = _copy(capsysbinary, f"{registry_http.host}/{mirror}:v1", f"oci:{layout}:v1")
    assert report["referrers"] == 4
    entries = _in_layout(layout, arts)
    listed = {
        (e["digest"], e.get("annotations", {}).get("org.opencontainers.image.ref.name"))
        for e in entries
    }
    assert listed == {
        (idx.digest, "v1"),
        (arts["sbom"].digest, None),
        (arts["att"].digest, None),
        (arts["att_sig"].digest, None),
        (arts["sig"].digest, tag_of(idx.digest, "sig")),
    }
    code, out, err = cli(capsysbinary, "digest", f"oci:{layout}")  # the one image, untagged
    assert (code, out.decode().strip()) == (0, idx.digest), err
    code, out, err = cli(capsysbinary, "ls", f"oci:{layout}", "--format", "json")
    assert (code, [i["digest"] for i in json.loads(out)["images"]]) == (0, [idx.digest]), err
    before = (layout / "index.json").read_bytes()
    again = _copy(capsysbinary, f"{registry_http.host}/{mirror}:v1", f"oci:{layout}:v1")
    assert (again["blobs_uploaded"], again["referrers_skipped"]) == (0, 4)
    assert json.loads((layout / "index.json").read_bytes()) == json.loads(before)

    # hop 3: layout -> registry with the referrers API: no tag schema index is made
    final = f"{unique_repo}-api"
    report = _copy(capsysbinary, f"oci:{layout}:v1", f"{front.host}/{final}:v1")
    assert report["referrers"] == 4
    _in_registry(front, final, arts)
    for art, subject in subjects.items():
        assert art in [d["digest"] for d in front.listing(final, subject.digest)]
        assert _schema_index(front, final, subject.digest) == []
    assert _tag_digest(front, final, tag_of(idx.digest, "sig")) == arts["sig"].digest

    front.reset_counts()
    again = _copy(capsysbinary, f"oci:{layout}:v1", f"{front.host}/{final}:v1")
    assert again["referrers_skipped"] == 4
    assert front.count("POST") == 0
    assert front.count("PUT") == 1

    # what the last hop lists is what the first one held
    code, out, _ = cli(capsysbinary, "referrers", f"{front.host}/{final}:v1", "--format", "json")
    assert code == 0
    assert {r["digest"] for r in json.loads(out)["referrers"]} == {
        arts["sbom"].digest,
        arts["sig"].digest,
    }


def test_no_referrers_leaves_them_behind(attached, registry_http, unique_repo, capsysbinary):
    idx, arts, _ = attached
    src = f"{registry_http.host}/{unique_repo}"
    dst = f"{unique_repo}-bare"
    report = _copy(capsysbinary, f"{src}:v1", f"{registry_http.host}/{dst}:v1", "--no-referrers")
    assert report["referrers"] == 0
    assert _schema_index(registry_http, dst, idx.digest) == []
    assert _tag_digest(registry_http, dst, tag_of(idx.digest, "sig")) is None
    with RegistryClient(registry_http) as client:
        assert client.get_manifest(dst, arts["sbom"].digest).status_code == 404


def test_a_tampered_referrer_is_refused(
    attached, registry_http, fault_proxy, unique_repo, capsysbinary
):
    _, arts, _ = attached
    proxy = fault_proxy(registry_http)
    proxy.tamper_body(path=f"/manifests/{arts['sbom'].digest}$")
    dst = f"{proxy.host}/{unique_repo}-tampered:v1"
    code, out, err = cli(capsysbinary, "copy", f"{proxy.host}/{unique_repo}:v1", dst, "-q")
    assert code == 6
    assert out == b""
    assert arts["sbom"].digest in err
    assert "Traceback" not in err
    assert _tag_digest(registry_http, f"{unique_repo}-tampered", "v1") is None  # tag never moved


def test_an_interrupted_copy_resumes_with_its_referrers(
    attached, registry_http, fault_proxy, unique_repo, capsysbinary
):
    idx, arts, subjects = attached
    proxy = fault_proxy(registry_http)
    dst = f"{unique_repo}-resumed"
    refused = proxy.status_then_ok(
        403, times=100, path=r"/manifests/sha256-[0-9a-f]{64}$", method="PUT"
    )
    code, out, err = cli(
        capsysbinary, "copy", f"{proxy.host}/{unique_repo}:v1", f"{proxy.host}/{dst}:v1", "-q"
    )
    assert code == 4, err
    assert out == b""
    assert refused.hits >= 1
    assert _tag_digest(registry_http, dst, "v1") is None  # the tag moves last
    proxy.remove(refused)
    registry_http.reset_count()
    report = _copy(capsysbinary, f"{proxy.host}/{unique_repo}:v1", f"{proxy.host}/{dst}:v1")
    assert report["blobs_uploaded"] == 0  # every blob arrived the first time
    assert registry_http.request_count("POST", r"/blobs/uploads/") == 0
    assert report["referrers"] == 4
    _in_registry(registry_http, dst, arts)
    for art, subject in subjects.items():
        assert art in _schema_index(registry_http, dst, subject.digest)
    assert _tag_digest(registry_http, dst, "v1") == idx.digest


def test_one_platform_carries_only_its_own_referrers(
    attached, registry_http, unique_repo, capsysbinary
):
    idx, arts, _ = attached
    dst = f"{unique_repo}-amd64"
    report = _copy(
        capsysbinary,
        f"{registry_http.host}/{unique_repo}:v1",
        f"{registry_http.host}/{dst}:v1",
        "--platform",
        "linux/amd64",
    )
    child = idx.child("linux", "amd64")
    assert report["digest"] == child.digest
    assert report["referrers"] == 2  # the attestation and its signature; not the index's
    _in_registry(registry_http, dst, {k: arts[k] for k in ("att", "att_sig")})
    assert _schema_index(registry_http, dst, child.digest) == [arts["att"].digest]
    assert _schema_index(registry_http, dst, idx.digest) == []
    with RegistryClient(registry_http) as client:
        assert client.get_manifest(dst, arts["sbom"].digest).status_code == 404


def test_referrers_travel_into_a_token_registry_and_no_secret_is_printed(
    attached, registry_http, registry_token, unique_repo, tmp_home, capsysbinary
):
    idx, arts, subjects = attached
    store_login(registry_token, tmp_home)
    dst = f"{unique_repo}-token"
    code, out, err = cli(
        capsysbinary,
        "copy",
        f"{registry_http.host}/{unique_repo}:v1",
        f"{registry_token.host}/{dst}:v1",
        "--ca-file",
        registry_token.ca_file,
        "--format",
        "json",
    )
    assert code == 0, err
    assert json.loads(out)["referrers"] == 4
    _in_registry(registry_token, dst, arts)
    for art, subject in subjects.items():
        assert art in _schema_index(registry_token, dst, subject.digest)
    code, listed, err2 = cli(
        capsysbinary,
        "referrers",
        f"{registry_token.host}/{dst}@{idx.digest}",
        "--ca-file",
        registry_token.ca_file,
        "--format",
        "json",
    )
    assert code == 0, err2
    assert {r["digest"] for r in json.loads(listed)["referrers"]} == {
        arts["sbom"].digest,
        arts["sig"].digest,
    }
    for text in (out.decode(), err, listed.decode(), err2):
        assert registry_token.password not in text
