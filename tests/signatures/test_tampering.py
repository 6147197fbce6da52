"""Tampering a real registry will not do, through the fault proxy in front of it.

Each case is what an attacker with write access to a mirror (or a broken mirror) could
serve: a payload changed in transit, a signature image of another digest served under this
digest's tag, a payload swapped under a valid signature, a signature swapped onto a payload.
"""

from __future__ import annotations

import json

import pytest

from imgdigest.cli.main import main
from tests.harness import push_blob, push_image, signing
from tests.harness.client import RegistryClient


@pytest.fixture
def scene(registry_http, unique_repo: str, key, fault_proxy):
    """Two signed images (A and B) in one repository, and a proxy in front of it."""
    private, pub = key
    name = f"{registry_http.host}/{unique_repo}"
    a = push_image(registry_http, unique_repo, "a", seed="a")
    b = push_image(registry_http, unique_repo, "b", seed="b")
    layer_a = signing.signature_layer(private, a.digest, name)
    layer_b = signing.signature_layer(private, b.digest, name)
    signing.push_signatures(registry_http, unique_repo, a.digest, [layer_a])
    signing.push_signatures(registry_http, unique_repo, b.digest, [layer_b])
    proxy = fault_proxy(registry_http)
    return proxy, unique_repo, pub, a, b, layer_a, layer_b


def _verify(proxy, repo: str, pub: str, ref: str, capsys) -> tuple[int, str]:
    code = main(
        [
            "verify",
            "--no-cache",
            "--insecure",
            proxy.host,
            "--key",
            pub,
            f"{proxy.host}/{repo}{ref}",
        ]
    )
    return code, capsys.readouterr().err


def _sig_path(repo: str, digest: str) -> str:
    return f"/v2/{repo}/manifests/{signing.sig_tag(digest)}$"


def test_untouched_through_the_proxy_it_verifies(scene, capsys) -> None:
    proxy, repo, pub, _a, *_ = scene
    assert _verify(proxy, repo, pub, ":a", capsys)[0] == 0


def test_a_payload_changed_in_transit_fails_its_digest_check(scene, capsys) -> None:
    proxy, repo, pub, _a, _, layer_a, _ = scene
    proxy.tamper_body(path=f"/blobs/{signing.sha256_digest(layer_a.payload)}$", offset=60)
    code, err = _verify(proxy, repo, pub, ":a", capsys)
    assert code == 6
    assert "blob content does not match its digest" in err
    assert err.count("\n") == 1


def test_another_digests_signature_image_served_under_this_tag_is_9(scene, capsys) -> None:
    proxy, repo, pub, a, b, _, layer_b = scene
    _, manifest_b = signing.signature_manifest([layer_b])
    proxy.replace_body(manifest_b, path=_sig_path(repo, a.digest))
    code, err = _verify(proxy, repo, pub, ":a", capsys)
    assert code == 9
    assert err.endswith(f"none for it: one signs digest {b.digest}\n")


def test_a_payload_swapped_under_a_valid_signature_is_10(scene, registry_http, capsys) -> None:
    proxy, repo, pub, a, _b, layer_a, layer_b = scene
    # B's payload (already in the registry) with A's signature annotation
    forged = signing.SignedLayer(layer_b.payload, layer_a.signature)
    _, manifest = signing.signature_manifest([forged])
    proxy.replace_body(manifest, path=_sig_path(repo, a.digest))
    code, err = _verify(proxy, repo, pub, ":a", capsys)
    assert code == 10
    assert "none verifies with" in err


def test_a_payload_claiming_this_digest_under_a_signature_of_another_is_10(
    scene, registry_http, capsys
) -> None:
    proxy, repo, pub, a, _b, _layer_a, layer_b = scene
    # a payload naming A, but carrying the signature made over B's payload
    claim = signing.simple_signing(a.digest, "attacker.example/x")
    with RegistryClient(registry_http) as client:
        push_blob(client, repo, claim)
    forged = signing.SignedLayer(claim, layer_b.signature)
    _, manifest = signing.signature_manifest([forged])
    proxy.replace_body(manifest, path=_sig_path(repo, a.digest))
    code, err = _verify(proxy, repo, pub, ":a", capsys)
    assert code == 10
    assert "none verifies with" in err


def test_json_report_names_each_verdict(scene, capsys) -> None:
    proxy, repo, pub, a, b, layer_a, layer_b = scene
    _, manifest = signing.signature_manifest([layer_b, layer_a])
    proxy.replace_body(manifest, path=_sig_path(repo, a.digest))
    code = main(
        [
            "verify",
            "--format",
            "json",
            "--no-cache",
            "--insecure",
            proxy.host,
            "--key",
            pub,
            f"{proxy.host}/{repo}:a",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [(c["status"], c["signed_digest"]) for c in report["checks"]] == [
        ("other-digest", b.digest),
        ("valid", a.digest),
    ]


def test_an_oversized_payload_is_judged_without_being_downloaded(scene, capsys) -> None:
    proxy, repo, pub, a, _, layer_a, _ = scene
    _, manifest = signing.signature_manifest([layer_a])
    forged = manifest.replace(f'"size": {len(layer_a.payload)}'.encode(), b'"size": 9437184')
    assert forged != manifest
    proxy.replace_body(forged, path=_sig_path(repo, a.digest))
    proxy.reset_counts()
    code = main(
        [
            "verify",
            "--format",
            "json",
            "--no-cache",
            "--insecure",
            proxy.host,
            "--key",
            pub,
            f"{proxy.host}/{repo}:a",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 10
    assert report["checks"] == [
        {
            "kind": "signature",
            "layer": signing.sha256_digest(layer_a.payload),
            "status": "malformed",
            "detail": "payload of 9437184 bytes is over the 8 MiB limit",
        }
    ]
    assert proxy.count("GET", f"/v2/{repo}/blobs/{signing.sha256_digest(layer_a.payload)}") == 0
