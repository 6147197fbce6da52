"""cosign's simple-signing payload: the JSON document a container signature signs.

The signature covers these exact bytes, so they are kept as fetched; the parsed fields only
say *what* was signed (``critical.image.docker-manifest-digest``) and *for whom*
(``critical.identity.docker-reference``). cosign writes them with Go's ``json.Marshal`` (no
spaces, fields in this order), and so do we, so a payload we write is byte for byte the one
cosign would write for the same image.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

#: The layer media type of a signature payload, and the ``critical.type`` it declares.
SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_TYPE = "cosign container image signature"


@dataclass(frozen=True)
class Payload:
    """What one signature says it signs."""

    digest: str
    identity: str
    annotations: dict[str, Any] | None


def build(digest: str, identity: str, annotations: dict[str, str] | None = None) -> bytes:
    doc = {
        "critical": {
            "identity": {"docker-reference": identity},
            "image": {"docker-manifest-digest": digest},
            "type": SIGNATURE_TYPE,
        },
        "optional": annotations or None,
    }
    return json.dumps(doc, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def parse(data: bytes) -> Payload | None:
    """The payload's claims, or None when it is not a simple-signing document."""
    try:
        doc = json.loads(data)
    except ValueError:
        return None
    critical = doc.get("critical") if isinstance(doc, dict) else None
    if not isinstance(critical, dict):
        return None
    image, identity = critical.get("image"), critical.get("identity")
    digest = image.get("docker-manifest-digest") if isinstance(image, dict) else None
    ref = identity.get("docker-reference") if isinstance(identity, dict) else None
    if not isinstance(digest, str) or critical.get("type") != SIGNATURE_TYPE:
        return None
    optional = doc.get("optional")
    return Payload(digest, ref if isinstance(ref, str) else "", optional or None)
