"""Keys in cosign's formats: PEM public keys, and its password-encrypted private key.

cosign stores a private key as a PEM block (``ENCRYPTED SIGSTORE PRIVATE KEY``; older
releases wrote ``ENCRYPTED COSIGN PRIVATE KEY``) whose body is JSON: the scrypt parameters
and salt that turn the password into a 32-byte key, and a NaCl secretbox (XSalsa20-Poly1305)
sealing the PKCS#8 DER private key. Writing the same shape lets cosign read our keys and us
read its keys. A signature is made and checked the way cosign does per key type: ECDSA with
the curve's hash (SHA-256 for P-256, SHA-384 for P-384), RSA PKCS#1 v1.5 (PSS accepted when
verifying) with SHA-256, Ed25519 over the message itself. cosign releases before its
per-key digest detection hashed with SHA-256 whatever the curve, so an ECDSA signature
over SHA-256 is accepted from a P-384 or P-521 key too.

Nothing here prints or keeps a password; errors name the key file and never its content.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from imgdigest.errors import KeyFileError

#: The PEM block cosign 2 writes, and the one earlier releases wrote (both are read).
PRIVATE_PEM = "ENCRYPTED SIGSTORE PRIVATE KEY"
LEGACY_PRIVATE_PEM = "ENCRYPTED COSIGN PRIVATE KEY"
#: The scrypt cost in key files cosign 2 writes: N=2^16, r=8, p=1 (older ones hold 2^15).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 65536, 8, 1
#: Refuse key files that would make scrypt take gigabytes or minutes to open.
MAX_SCRYPT_N = 1 << 20
MAX_KEY_FILE = 64 * 1024

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_KEY_FILE + 1)
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read the {what}: {exc.strerror}", file=path) from None
    if len(data) > MAX_KEY_FILE:
        raise KeyFileError(f"{path}: not a {what} (larger than 64 KiB)", file=path)
    return data


def _check_type(key: object, path: str) -> PublicKey:
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
            raise KeyFileError(f"{path}: unsupported curve {key.curve.name}", file=path)
        return key
    if isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        return key
    kind = type(key).__name__
    raise KeyFileError(f"{path}: unsupported public key type {kind}", file=path)


def parse_public_key(data: bytes, path: str = "<key>") -> PublicKey:
    """A PEM ``PUBLIC KEY`` (ECDSA, RSA or Ed25519), as ``cosign.pub`` holds."""
    if b"PRIVATE KEY" in data:
        raise KeyFileError(
            f"{path}: this is a private key; verification takes the public key (cosign.pub)",
            file=path,
        )
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFileError(f"{path}: not a PEM public key", file=path) from None
    return _check_type(key, path)


def load_public_key(path: str) -> PublicKey:
    return parse_public_key(_read(path, "public key"), path)


def public_pem(key: PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# -- the encrypted private key ------------------------------------------------------------


def _pem_body(data: bytes, path: str) -> bytes:
    text = data.decode("ascii", "replace").strip()
    for label in (PRIVATE_PEM, LEGACY_PRIVATE_PEM):
        begin, end = f"-----BEGIN {label}-----", f"-----END {label}-----"
        if text.startswith(begin) and text.endswith(end):
            body = text[len(begin) : -len(end)]
            try:
                return base64.b64decode("".join(body.split()), validate=True)
            except binascii.Error:
                break
    raise KeyFileError(
        f"{path}: not a cosign private key (expected a PEM block {PRIVATE_PEM})", file=path
    )


def _b64(obj: Any, field: str, path: str) -> bytes:
    if not isinstance(obj, str):
        raise KeyFileError(f"{path}: cosign private key: {field} is missing", file=path)
    try:
        return base64.b64decode(obj, validate=True)
    except binascii.Error:
        problem = f"{path}: cosign private key: {field} is not base64"
        raise KeyFileError(problem, file=path) from None


def _kdf_key(password: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    memory = 128 * n * r * p + 128 * r * 2 + 1024 * 1024
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=memory, dklen=32)


def decrypt_private_key(data: bytes, password: bytes, path: str = "<key>") -> PrivateKey:
    """Open a cosign private key file with its password."""
    from nacl.exceptions import CryptoError
    from nacl.secret import SecretBox

    try:
        doc = json.loads(_pem_body(data, path))
    except ValueError:
        raise KeyFileError(f"{path}: cosign private key: body is not JSON", file=path) from None
    kdf = doc.get("kdf") if isinstance(doc, dict) else None
    cipher = doc.get("cipher") if isinstance(doc, dict) else None
    if not isinstance(kdf, dict) or not isinstance(cipher, dict):
        raise KeyFileError(f"{path}: cosign private key: no kdf or cipher", file=path)
    if kdf.get("name") != "scrypt" or cipher.get("name") != "nacl/secretbox":
        raise KeyFileError(
            f"{path}: cosign private key: unsupported kdf {kdf.get('name')!r} or cipher "
            f"{cipher.get('name')!r} (expected scrypt and nacl/secretbox)",
            file=path,
        )
    params = kdf.get("params")
    n, r, p = (params.get(k) if isinstance(params, dict) else None for k in ("N", "r", "p"))
    valid = all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (n, r, p))
    if not valid or n > MAX_SCRYPT_N or n & (n - 1) or r * p >= 1 << 30:  # type: ignore[operator]
        raise KeyFileError(f"{path}: cosign private key: invalid scrypt parameters", file=path)
    salt = _b64(kdf.get("salt"), "kdf.salt", path)
    nonce = _b64(cipher.get("nonce"), "cipher.nonce", path)
    sealed = _b64(doc.get("ciphertext"), "ciphertext", path)
    if len(nonce) != SecretBox.NONCE_SIZE:
        raise KeyFileError(f"{path}: cosign private key: nonce is not 24 bytes", file=path)
    box = SecretBox(_kdf_key(password, salt, n, r, p))  # type: ignore[arg-type]
    try:
        der = box.decrypt(sealed, nonce)
    except CryptoError:
        raise KeyFileError(f"{path}: wrong password for this private key", file=path) from None
    try:
        key = serialization.load_der_private_key(der, password=None)
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFileError(f"{path}: the decrypted key is not PKCS#8", file=path) from None
    if not isinstance(
        key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
    ):
        raise KeyFileError(f"{path}: unsupported private key type", file=path)
    _check_type(key.public_key(), path)
    return key


def load_private_key(path: str, password: bytes) -> PrivateKey:
    return decrypt_private_key(_read(path, "private key"), password, path)


def encrypt_private_key(key: PrivateKey, password: bytes) -> bytes:
    """The PEM text cosign writes for ``key`` (fresh salt and nonce every time)."""
    from nacl.secret import SecretBox

    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    salt = os.urandom(32)
    nonce = os.urandom(SecretBox.NONCE_SIZE)
    sealed = SecretBox(_kdf_key(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)).encrypt(der, nonce)
    doc = {
        "kdf": {
            "name": "scrypt",
            "params": {"N": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P},
            "salt": base64.b64encode(salt).decode(),
        },
        "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
        "ciphertext": base64.b64encode(sealed.ciphertext).decode(),
    }
    body = base64.b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return (
        f"-----BEGIN {PRIVATE_PEM}-----\n" + "\n".join(lines) + f"\n-----END {PRIVATE_PEM}-----\n"
    ).encode()


# -- signing and verifying ----------------------------------------------------------------


def _ec_hash(curve: ec.EllipticCurve) -> hashes.HashAlgorithm:
    return {"secp384r1": hashes.SHA384(), "secp521r1": hashes.SHA512()}.get(
        curve.name, hashes.SHA256()
    )


def sign_bytes(key: PrivateKey, data: bytes) -> bytes:
    """The raw signature cosign makes over ``data`` with this kind of key."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(_ec_hash(key.curve)))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data)


def verify_bytes(key: PublicKey, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` over ``data`` verifies with ``key`` (never raises on bad input)."""
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            try:
                key.verify(signature, data, ec.ECDSA(_ec_hash(key.curve)))
            except InvalidSignature:
                if key.curve.name == "secp256r1":
                    raise
                key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            try:
                key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            except InvalidSignature:
                pss = padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.AUTO)
                key.verify(signature, data, pss, hashes.SHA256())
        else:
            key.verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class KeyPair:
    """What ``keygen`` wrote: the two files, and the public key's PEM text."""

    private_path: str
    public_path: str
    public_pem: str

    def to_json(self) -> dict[str, Any]:
        return {"private": self.private_path, "public": self.public_path, "pem": self.public_pem}


def new_private_key(kind: str = "ecdsa-p256") -> PrivateKey:
    if kind == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "ecdsa-p384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    from imgdigest.errors import UsageError

    raise UsageError(f"unknown key type {kind!r}: ecdsa-p256, ecdsa-p384, ed25519 or rsa")


def generate_keys(
    prefix: str = "cosign",
    password: bytes = b"",
    *,
    kind: str = "ecdsa-p256",
    overwrite: bool = False,
) -> KeyPair:
    """Write ``PREFIX.key`` (cosign's encrypted format, mode 0600) and ``PREFIX.pub``.

    Both files are written or neither (the atomic writer); an existing key is never
    replaced unless ``overwrite``, since losing a signing key cannot be undone.
    """
    from pathlib import Path

    from imgdigest.errors import UsageError
    from imgdigest.files import PRIVATE, Replacement, replace_files

    private_path, public_path = Path(f"{prefix}.key"), Path(f"{prefix}.pub")
    if not overwrite:
        for path in (private_path, public_path):
            if path.exists():
                raise UsageError(f"{path}: already exists; not replacing a key", file=str(path))
    key = new_private_key(kind)
    pem = public_pem(key.public_key())
    replace_files(
        [
            Replacement(private_path, encrypt_private_key(key, password), mode=PRIVATE),
            Replacement(public_path, pem, mode=0o644),
        ]
    )
    return KeyPair(str(private_path), str(public_path), pem.decode())
