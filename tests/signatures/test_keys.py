"""Key files imgdigest writes follow cosign's format field by field; bad key files are refused."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from nacl.secret import SecretBox

from imgdigest.cli.main import main
from imgdigest.errors import KeyFileError, UsageError
from imgdigest.signatures import keys


def _pem_json(text: str) -> dict:
    lines = text.strip().splitlines()
    assert lines[0] == "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"
    assert lines[-1] == "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----"
    assert all(len(line) <= 64 for line in lines[1:-1])
    return json.loads(base64.b64decode("".join(lines[1:-1])))


def test_keygen_writes_cosigns_encrypted_format_field_by_field(tmp_path: Path) -> None:
    pair = keys.generate_keys(str(tmp_path / "cosign"), b"s3cret")
    key_text = (tmp_path / "cosign.key").read_text()
    doc = _pem_json(key_text)
    assert set(doc) == {"kdf", "cipher", "ciphertext"}
    assert doc["kdf"]["name"] == "scrypt"
    assert doc["kdf"]["params"] == {"N": 65536, "r": 8, "p": 1}
    salt = base64.b64decode(doc["kdf"]["salt"])
    assert len(salt) == 32
    assert doc["cipher"]["name"] == "nacl/secretbox"
    nonce = base64.b64decode(doc["cipher"]["nonce"])
    assert len(nonce) == 24
    # opened here without imgdigest: scrypt with the params, then NaCl secretbox
    secret = hashlib.scrypt(b"s3cret", salt=salt, n=65536, r=8, p=1, maxmem=128 << 20, dklen=32)
    der = SecretBox(secret).decrypt(base64.b64decode(doc["ciphertext"]), nonce)
    private = serialization.load_der_private_key(der, password=None)  # PKCS#8, as cosign
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    assert private.curve.name == "secp256r1"
    public = serialization.load_pem_public_key((tmp_path / "cosign.pub").read_bytes())
    assert public == private.public_key()
    assert pair.public_pem == (tmp_path / "cosign.pub").read_text()
    assert stat.S_IMODE((tmp_path / "cosign.key").stat().st_mode) == 0o600
    assert "s3cret" not in key_text


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("ecdsa-p384", ec.EllipticCurvePublicKey), ("ed25519", ed25519.Ed25519PublicKey)],
)
def test_other_key_types_round_trip(tmp_path: Path, kind: str, expected: type) -> None:
    keys.generate_keys(str(tmp_path / "k"), b"", kind=kind)
    private = keys.load_private_key(str(tmp_path / "k.key"), b"")
    public = keys.load_public_key(str(tmp_path / "k.pub"))
    assert isinstance(public, expected)
    assert keys.verify_bytes(public, b"x", keys.sign_bytes(private, b"x")) is True


def test_rsa_pss_signatures_verify_too(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pss = padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.DIGEST_LENGTH)
    signature = private.sign(b"body", pss, hashes.SHA256())
    assert keys.verify_bytes(private.public_key(), b"body", signature) is True
    assert keys.verify_bytes(private.public_key(), b"other", signature) is False


def test_keygen_never_replaces_a_key(tmp_path: Path) -> None:
    keys.generate_keys(str(tmp_path / "cosign"), b"")
    before = (tmp_path / "cosign.key").read_bytes()
    with pytest.raises(UsageError, match="already exists; not replacing a key"):
        keys.generate_keys(str(tmp_path / "cosign"), b"")
    assert (tmp_path / "cosign.key").read_bytes() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello\n", "not a PEM public key"),
        (
            b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAA==\n"
            b"-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
            "this is a private key; verification takes the public key (cosign.pub)",
        ),
        (b"\x00" * 100_000, "not a public key (larger than 64 KiB)"),
    ],
)
def test_a_bad_public_key_file_is_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "key.pub"
    path.write_bytes(content)
    with pytest.raises(KeyFileError) as caught:
        keys.load_public_key(str(path))
    assert str(caught.value) == f"{path}: {message}"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {"kdf": {"name": "pbkdf2"}, "cipher": {"name": "nacl/secretbox"}},
            "cosign private key: unsupported kdf 'pbkdf2' or cipher 'nacl/secretbox' "
            "(expected scrypt and nacl/secretbox)",
        ),
        (
            {
                "kdf": {"name": "scrypt", "params": {"N": 1 << 30, "r": 8, "p": 1}, "salt": "AA=="},
                "cipher": {"name": "nacl/secretbox", "nonce": "AA=="},
                "ciphertext": "AA==",
            },
            "cosign private key: invalid scrypt parameters",
        ),
        (
            {
                "kdf": {"name": "scrypt", "params": {"N": 1024, "r": 8, "p": 1}, "salt": "AA=="},
                "cipher": {"name": "nacl/secretbox", "nonce": "AA=="},
                "ciphertext": "AA==",
            },
            "cosign private key: nonce is not 24 bytes",
        ),
    ],
)
def test_a_bad_private_key_file_is_refused_before_any_work(
    tmp_path: Path, doc: dict, message: str
) -> None:
    body = base64.b64encode(json.dumps(doc).encode()).decode()
    path = tmp_path / "cosign.key"
    path.write_text(
        f"-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n{body}\n"
        "-----END ENCRYPTED COSIGN PRIVATE KEY-----\n"
    )
    with pytest.raises(KeyFileError) as caught:
        keys.load_private_key(str(path), b"")
    assert str(caught.value) == f"{path}: {message}"


def test_keygen_cli_reads_the_password_from_stdin_and_prints_only_the_public_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io
    import sys

    monkeypatch.delenv("COSIGN_PASSWORD", raising=False)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"pw-from-stdin\n")))
    prefix = str(tmp_path / "team")
    assert main(["keygen", "--password-stdin", "--output-key-prefix", prefix]) == 0
    out, err = capsys.readouterr()
    assert out == (tmp_path / "team.pub").read_text()
    assert err == f"imgdigest keygen: wrote {prefix}.key and {prefix}.pub\n"
    assert "pw-from-stdin" not in out + err
    keys.load_private_key(f"{prefix}.key", b"pw-from-stdin")


def test_keygen_cli_without_a_password_source_is_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("COSIGN_PASSWORD", raising=False)
    assert main(["keygen", "--output-key-prefix", str(tmp_path / "k")]) == 2
    err = capsys.readouterr().err
    assert err == (
        "imgdigest: error: no password for the key: give --password-stdin, or set "
        "COSIGN_PASSWORD (empty for a key without one)\n"
    )
    assert not (tmp_path / "k.key").exists()


def test_a_p384_signature_over_sha256_as_older_cosign_made_it_verifies() -> None:
    from cryptography.hazmat.primitives import hashes

    private = ec.generate_private_key(ec.SECP384R1())
    legacy = private.sign(b"body", ec.ECDSA(hashes.SHA256()))
    current = keys.sign_bytes(private, b"body")
    private.public_key().verify(current, b"body", ec.ECDSA(hashes.SHA384()))  # what we write
    for signature in (legacy, current):
        assert keys.verify_bytes(private.public_key(), b"body", signature) is True
        assert keys.verify_bytes(private.public_key(), b"other", signature) is False


def test_a_p256_signature_over_another_hash_is_refused() -> None:
    from cryptography.hazmat.primitives import hashes

    private = ec.generate_private_key(ec.SECP256R1())
    signature = private.sign(b"body", ec.ECDSA(hashes.SHA384()))
    assert keys.verify_bytes(private.public_key(), b"body", signature) is False
