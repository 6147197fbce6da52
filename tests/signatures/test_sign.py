"""``sign`` writes what cosign writes: checked field by field by the suite's own reader."""

from __future__ import annotations

import base64
import io
import json
import sys
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from imgdigest.cli.main import main
from imgdigest.signatures import keys
from tests.harness import push_image, signing


def _fetch(registry, repo: str, ref: str, accept: str = signing.OCI_MANIFEST) -> bytes:
    url = f"{registry.url}/v2/{repo}/{'blobs' if ref.startswith('sha256:') else 'manifests'}/{ref}"
    response = httpx.get(url, headers={"Accept": accept})
    assert response.status_code == 200, (url, response.status_code)
    return response.content


def _sign(registry, ref: str, key: str, password: str, monkeypatch, *extra: str) -> int:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(password.encode() + b"\n")))
    return main(
        ["sign", "--insecure", registry.host, "--key", key, "--password-stdin", *extra, ref]
    )


def test_sign_writes_cosigns_signature_image_and_verify_accepts_it(
    registry_http,
    unique_repo: str,
    tmp_path: Path,
    tmp_home: Path,
    monkeypatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    keys.generate_keys(str(tmp_path / "cosign"), b"pw")
    image = push_image(registry_http, unique_repo, "v1")
    name = f"{registry_http.host}/{unique_repo}"
    assert _sign(registry_http, f"{name}:v1", str(tmp_path / "cosign.key"), "pw", monkeypatch) == 0
    out, err = capsys.readouterr()
    tag = signing.sig_tag(image.digest)
    assert out == f"{name}:{tag}\n"
    assert "pw" not in out + err.replace("the tag", "")

    manifest = json.loads(_fetch(registry_http, unique_repo, tag))
    assert manifest["schemaVersion"] == 2
    assert manifest["mediaType"] == signing.OCI_MANIFEST
    assert manifest["config"]["mediaType"] == signing.OCI_CONFIG
    [layer] = manifest["layers"]
    assert layer["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json"
    assert set(layer["annotations"]) == {"dev.cosignproject.cosign/signature"}
    body = _fetch(registry_http, unique_repo, layer["digest"])
    assert layer["size"] == len(body)
    # the exact bytes cosign writes (Go's json.Marshal of its payload struct)
    assert body == signing.simple_signing(image.digest, name)
    config = json.loads(_fetch(registry_http, unique_repo, manifest["config"]["digest"]))
    assert config["rootfs"] == {"type": "layers", "diff_ids": [layer["digest"]]}
    # the signature is ECDSA P-256 / SHA-256 in ASN.1 DER, checked without imgdigest
    public = serialization.load_pem_public_key((tmp_path / "cosign.pub").read_bytes())
    assert isinstance(public, ec.EllipticCurvePublicKey)
    raw = base64.b64decode(layer["annotations"]["dev.cosignproject.cosign/signature"])
    public.verify(raw, body, ec.ECDSA(hashes.SHA256()))

    code = main(
        [
            "verify",
            "--insecure",
            registry_http.host,
            "--key",
            str(tmp_path / "cosign.pub"),
            f"{name}:v1",
        ]
    )
    assert code == 0


def test_signing_again_appends_and_the_same_key_twice_adds_nothing(
    registry_http, unique_repo: str, tmp_path: Path, tmp_home: Path, monkeypatch, capsys
) -> None:
    keys.generate_keys(str(tmp_path / "a"), b"")
    keys.generate_keys(str(tmp_path / "b"), b"")
    image = push_image(registry_http, unique_repo, "v1")
    ref = f"{registry_http.host}/{unique_repo}@{image.digest}"
    stranger = signing.signature_layer(signing.new_key(), image.digest, "elsewhere.example/x")
    signing.push_signatures(registry_http, unique_repo, image.digest, [stranger])
    results = []
    for key in ("a", "b", "a"):
        code = _sign(
            registry_http, ref, str(tmp_path / f"{key}.key"), "", monkeypatch, "--format", "json"
        )
        assert code == 0
        results.append(json.loads(capsys.readouterr().out))
    assert [(r["signatures"], r["added"]) for r in results] == [(2, True), (3, True), (3, False)]
    manifest = json.loads(_fetch(registry_http, unique_repo, signing.sig_tag(image.digest)))
    assert manifest["layers"][0] == stranger.descriptor()  # what was there is kept as it was


def test_sign_with_a_wrong_password_writes_nothing(
    registry_http, unique_repo: str, tmp_path: Path, tmp_home: Path, monkeypatch, capsys
) -> None:
    keys.generate_keys(str(tmp_path / "cosign"), b"right")
    image = push_image(registry_http, unique_repo, "v1")
    ref = f"{registry_http.host}/{unique_repo}:v1"
    code = _sign(registry_http, ref, str(tmp_path / "cosign.key"), "wrong-pass", monkeypatch)
    err = capsys.readouterr().err
    assert code == 2
    assert (
        err == f"imgdigest: error: {tmp_path / 'cosign.key'}: wrong password for this private key\n"
    )
    assert "wrong-pass" not in err
    url = f"{registry_http.url}/v2/{unique_repo}/manifests/{signing.sig_tag(image.digest)}"
    assert httpx.head(url, headers={"Accept": signing.OCI_MANIFEST}).status_code == 404


def test_sign_reads_cosign_password_from_the_environment(
    registry_http, unique_repo: str, tmp_path: Path, tmp_home: Path, monkeypatch, capsys
) -> None:
    keys.generate_keys(str(tmp_path / "cosign"), b"from-env")
    push_image(registry_http, unique_repo, "v1")
    monkeypatch.setenv("COSIGN_PASSWORD", "from-env")
    ref = f"{registry_http.host}/{unique_repo}:v1"
    code = main(
        [
            "sign",
            "--insecure",
            registry_http.host,
            "--key",
            str(tmp_path / "cosign.key"),
            "-a",
            "team=payments",
            ref,
        ]
    )
    assert code == 0
    capsys.readouterr()
    code = main(
        [
            "verify",
            "--format",
            "json",
            "--insecure",
            registry_http.host,
            "--key",
            str(tmp_path / "cosign.pub"),
            ref,
        ]
    )
    assert code == 0
    assert "from-env" not in capsys.readouterr().out
