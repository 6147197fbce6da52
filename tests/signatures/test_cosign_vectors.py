"""What cosign wrote is read here: its signature verifies, its private key file opens."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from imgdigest.errors import KeyFileError
from imgdigest.signatures import keys, payload

DATA = Path(__file__).resolve().parent.parent / "data" / "cosign"
VECTORS = json.loads((DATA / "vectors.json").read_text())


def _cert_key() -> keys.PublicKey:
    cert = x509.load_pem_x509_certificate((DATA / "cosign-written-signature.cert.pem").read_bytes())
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    return public


def test_the_recorded_payload_is_the_one_upstream_names_by_digest() -> None:
    v = VECTORS["signature"]
    body = v["payload"].encode()
    assert "sha256:" + hashlib.sha256(body).hexdigest() == v["payload_digest"]


def test_a_signature_cosign_wrote_verifies_here() -> None:
    v = VECTORS["signature"]
    body = v["payload"].encode()
    signature = base64.b64decode(v["signature"])
    assert keys.verify_bytes(_cert_key(), body, signature) is True
    claims = payload.parse(body)
    assert claims is not None
    assert (claims.digest, claims.identity) == (v["signed_digest"], v["identity"])


def test_the_same_signature_fails_on_a_changed_payload_or_another_key() -> None:
    v = VECTORS["signature"]
    body = v["payload"].encode()
    signature = base64.b64decode(v["signature"])
    changed = body.replace(b"623621", b"623622")
    assert keys.verify_bytes(_cert_key(), changed, signature) is False
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    assert keys.verify_bytes(other, body, signature) is False


def test_the_payload_imgdigest_writes_is_byte_for_byte_cosigns() -> None:
    v = VECTORS["signature"]
    assert payload.build(v["signed_digest"], v["identity"]) == v["payload"].encode()


def test_a_private_key_cosign_wrote_opens_with_its_password() -> None:
    v = VECTORS["private_key"]
    key = keys.load_private_key(str(DATA / v["file"]), v["password"].encode())
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.curve.name == v["curve"]
    # and what it signs verifies with its public key, as cosign's own key would
    signature = keys.sign_bytes(key, b"payload")
    assert keys.verify_bytes(key.public_key(), b"payload", signature) is True


def test_a_wrong_password_is_one_line_naming_the_file_and_no_secret(tmp_path: Path) -> None:
    v = VECTORS["private_key"]
    path = str(DATA / v["file"])
    with pytest.raises(KeyFileError) as caught:
        keys.load_private_key(path, b"hunter2")
    text = str(caught.value)
    assert text == f"{path}: wrong password for this private key"
    assert caught.value.exit_code == 2
    assert "hunter2" not in text


def test_the_certificates_key_as_a_pem_file_verifies_it_too() -> None:
    v = VECTORS["signature"]
    public = keys.load_public_key(str(DATA / "cosign-written-signature.pub"))
    assert keys.verify_bytes(public, v["payload"].encode(), base64.b64decode(v["signature"]))
