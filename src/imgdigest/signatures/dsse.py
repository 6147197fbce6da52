"""In-toto attestations in DSSE envelopes, as cosign stores them at the ``.att`` tag.

A DSSE signature covers the *pre-authentication encoding* of the payload
(``DSSEv1 <len(type)> <type> <len(body)> <body>``), not the envelope's JSON, so the type
cannot be swapped under a valid signature. The payload is an in-toto Statement whose
``subject`` lists digests; it attests an image only when one of them is the image's.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

#: The layer media type of an attestation, and the payload type of an in-toto statement.
DSSE_ENVELOPE = "application/vnd.dsse.envelope.v1+json"
IN_TOTO = "application/vnd.in-toto+json"

#: Predicate types worth a name (the prefix is enough: versions vary).
PREDICATE_NAMES = (
    ("https://slsa.dev/provenance/", "SLSA provenance"),
    ("https://spdx.dev/Document", "SPDX SBOM"),
    ("https://cyclonedx.org/bom", "CycloneDX SBOM"),
    ("https://cosign.sigstore.dev/attestation/vuln/", "vulnerability scan"),
    ("https://in-toto.io/attestation/vulns", "vulnerability scan"),
    ("https://cosign.sigstore.dev/attestation/v1", "custom"),
)


def predicate_name(predicate_type: str) -> str:
    for prefix, name in PREDICATE_NAMES:
        if predicate_type.startswith(prefix):
            return name
    return "other"


def pae(payload_type: str, body: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what a DSSE signature actually signs."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(body), body)


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    body: bytes
    signatures: tuple[bytes, ...]


def parse_envelope(data: bytes) -> Envelope | None:
    """The envelope's parts, or None when ``data`` is not a DSSE envelope."""
    try:
        doc = json.loads(data)
        if not isinstance(doc, dict):
            return None
        kind, body = doc.get("payloadType"), doc.get("payload")
        if not isinstance(kind, str) or not isinstance(body, str):
            return None
        sigs = doc.get("signatures")
        raw = tuple(
            base64.b64decode(s["sig"])
            for s in (sigs if isinstance(sigs, list) else [])
            if isinstance(s, dict) and isinstance(s.get("sig"), str)
        )
        return Envelope(kind, base64.b64decode(body), raw)
    except (ValueError, binascii.Error):
        return None


def build_envelope(payload_type: str, body: bytes, signature: bytes) -> bytes:
    doc = {
        "payloadType": payload_type,
        "payload": base64.b64encode(body).decode(),
        "signatures": [{"keyid": "", "sig": base64.b64encode(signature).decode()}],
    }
    return json.dumps(doc, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Statement:
    predicate_type: str
    subject_digests: tuple[str, ...]  #: ``sha256:<hex>`` of every subject


def parse_statement(body: bytes) -> Statement | None:
    try:
        doc: Any = json.loads(body)
    except ValueError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("predicateType"), str):
        return None
    digests: list[str] = []
    for subject in doc.get("subject") or []:
        found = subject.get("digest") if isinstance(subject, dict) else None
        if isinstance(found, dict):
            digests.extend(f"{alg}:{hex_}" for alg, hex_ in found.items() if isinstance(hex_, str))
    return Statement(doc["predicateType"], tuple(digests))
