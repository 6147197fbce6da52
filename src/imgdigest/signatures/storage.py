"""Where cosign keeps signatures and attestations: tags beside the image, by digest.

cosign's tag convention names the tag after the signed digest, ``sha256-<hex>.sig`` for
signatures and ``.att`` for attestations, in the image's own repository; each holds an
image manifest whose layers are the signed payloads, one per signature, the signature
itself in the layer's ``dev.cosignproject.cosign/signature`` annotation. Everything is
fetched by digest and verified as it arrives (``AsyncResolver``), so a registry cannot
swap a payload under a descriptor without the fetch failing.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

from imgdigest.digest import Digest
from imgdigest.errors import NotFoundError
from imgdigest.media import OCI_CONFIG, OCI_MANIFEST, Descriptor, Manifest
from imgdigest.reference import Reference
from imgdigest.referrers import cosign_tag
from imgdigest.resolver import AsyncResolver

SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
#: Signature payloads are tiny; attestations (an SBOM's statement) can be megabytes. Larger
#: layers are judged malformed without being downloaded.
MAX_PAYLOAD_BYTES = 8 * 1024 * 1024
#: go-containerregistry's zero time, which cosign's signature images carry.
ZERO_TIME = "0001-01-01T00:00:00Z"


def tag_ref(ref: Reference, digest: str, suffix: str) -> Reference:
    return ref.without_digest().with_tag(cosign_tag(digest, suffix))


@dataclass(frozen=True)
class Layer:
    """One signed payload: its descriptor and its verified bytes."""

    descriptor: Descriptor
    data: bytes


async def fetch_manifest(resolver: AsyncResolver, where: Reference) -> Manifest | None:
    """The manifest at a ``.sig``/``.att`` tag, or None when there is no such tag."""
    try:
        manifest, _ = await resolver.manifest(where)
    except NotFoundError:
        return None
    return manifest


async def fetch_layer(resolver: AsyncResolver, where: Reference, layer: Descriptor) -> bytes:
    """A payload by digest, verified (and cached: content by digest never changes)."""
    return await resolver.config(where, layer)


def signature_config(diff_ids: list[str]) -> bytes:
    """The image config cosign's signature manifests point at (one history entry per layer)."""
    doc = {
        "architecture": "",
        "created": ZERO_TIME,
        "history": [{"created": ZERO_TIME} for _ in diff_ids],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "config": {},
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def signature_manifest(config: bytes, layers: list[dict[str, object]]) -> bytes:
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": OCI_CONFIG,
            "size": len(config),
            "digest": str(Digest.of(config)),
        },
        "layers": layers,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def push(
    resolver: AsyncResolver, where: Reference, blobs: list[bytes], manifest: bytes
) -> str:
    """Upload what is missing of ``blobs``, then PUT ``manifest`` at ``where``'s tag."""
    from imgdigest.registry.upload import PUSH, Pusher

    endpoint = resolver.endpoints(where.without_tag())[-1]  # never write to a mirror
    pusher = Pusher(resolver.transport, endpoint)
    await resolver.transport.prepare(endpoint.host, [endpoint.repository], PUSH)
    for blob in blobs:
        digest = str(Digest.of(blob))
        if not await pusher.has_blob(digest):
            await pusher.upload(digest, len(blob), _once(blob))
    digest = str(Digest.of(manifest))
    await pusher.put_manifest(where.tag or digest, manifest, OCI_MANIFEST, digest)
    return digest
