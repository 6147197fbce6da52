"""cosign-format signatures and attestations, written by the suite as cosign writes them.

This module shares no code with ``imgdigest.signatures``: it is the independent witness of
cosign's storage format (simple-signing payload layers with the signature in the
``dev.cosignproject.cosign/signature`` annotation, at the ``sha256-<hex>.sig`` tag; DSSE
envelopes of in-toto statements at ``.att``), built from cosign's published specification
(SPEC.md and the format docs in its repository), so a verifier that agrees with it agrees
with the spec rather than with itself. Keys are made with ``cryptography`` directly.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from .client import Endpoint, RegistryClient
from .images import push_blob, push_manifest, sha256_digest

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE = "application/vnd.dsse.envelope.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
SIGNATURE = "dev.cosignproject.cosign/signature"
SLSA = "https://slsa.dev/provenance/v0.2"

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


def new_key(kind: str = "p256") -> PrivateKey:
    if kind == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "p384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ed25519.Ed25519PrivateKey.generate()


def public_pem(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def raw_sign(key: PrivateKey, data: bytes, rsa_pss: bool = False) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        digest = hashes.SHA384() if key.curve.name == "secp384r1" else hashes.SHA256()
        return key.sign(data, ec.ECDSA(digest))
    if isinstance(key, rsa.RSAPrivateKey):
        if rsa_pss:
            pss = padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.DIGEST_LENGTH)
            return key.sign(data, pss, hashes.SHA256())
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data)


def simple_signing(digest: str, identity: str) -> bytes:
    """The payload, serialized as Go's json.Marshal does (cosign's own bytes)."""
    critical = (
        f'{{"identity":{{"docker-reference":"{identity}"}},'
        f'"image":{{"docker-manifest-digest":"{digest}"}},'
        '"type":"cosign container image signature"}'
    )
    return ('{"critical":' + critical + ',"optional":null}').encode()


@dataclass
class SignedLayer:
    payload: bytes
    signature: str  #: base64, as the annotation holds it
    media_type: str = SIMPLE_SIGNING
    annotations: dict[str, str] = field(default_factory=dict)

    def descriptor(self) -> dict:
        annotations = dict(self.annotations)
        if self.media_type == SIMPLE_SIGNING:
            annotations[SIGNATURE] = self.signature
        return {
            "mediaType": self.media_type,
            "size": len(self.payload),
            "digest": sha256_digest(self.payload),
            "annotations": annotations,
        }


def signature_layer(
    key: PrivateKey, digest: str, identity: str, rsa_pss: bool = False
) -> SignedLayer:
    body = simple_signing(digest, identity)
    return SignedLayer(body, base64.b64encode(raw_sign(key, body, rsa_pss)).decode())


def pae(payload_type: str, body: bytes) -> bytes:
    return b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type.encode(), len(body), body)


def attestation_layer(key: PrivateKey, digest: str, predicate_type: str = SLSA) -> SignedLayer:
    statement = json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": predicate_type,
            "subject": [{"name": "image", "digest": {"sha256": digest.split(":", 1)[1]}}],
            "predicate": {"builder": {"id": "https://example.com/builder"}},
        }
    ).encode()
    kind = "application/vnd.in-toto+json"
    envelope = json.dumps(
        {
            "payloadType": kind,
            "payload": base64.b64encode(statement).decode(),
            "signatures": [
                {"keyid": "", "sig": base64.b64encode(raw_sign(key, pae(kind, statement))).decode()}
            ],
        }
    ).encode()
    return SignedLayer(envelope, "", DSSE, {"predicateType": predicate_type})


def sig_tag(digest: str, suffix: str = "sig") -> str:
    return digest.replace(":", "-", 1) + "." + suffix


def signature_manifest(layers: list[SignedLayer]) -> tuple[bytes, bytes]:
    """(config, manifest) bytes of a cosign signature image holding ``layers``."""
    config = json.dumps(
        {
            "architecture": "",
            "created": "0001-01-01T00:00:00Z",
            "history": [{"created": "0001-01-01T00:00:00Z"} for _ in layers],
            "os": "",
            "rootfs": {"type": "layers", "diff_ids": [sha256_digest(x.payload) for x in layers]},
            "config": {},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": OCI_CONFIG,
                "size": len(config),
                "digest": sha256_digest(config),
            },
            "layers": [x.descriptor() for x in layers],
        }
    ).encode()
    return config, manifest


def push_signatures(
    registry: Endpoint,
    repo: str,
    digest: str,
    layers: list[SignedLayer],
    suffix: str = "sig",
    tag: str | None = None,
) -> str:
    """Push a signature (``sig``) or attestation (``att``) image for ``digest``; its digest."""
    config, manifest = signature_manifest(layers)
    with RegistryClient(registry) as client:
        for blob in [config, *(x.payload for x in layers)]:
            push_blob(client, repo, blob)
        return push_manifest(client, repo, tag or sig_tag(digest, suffix), manifest, OCI_MANIFEST)
