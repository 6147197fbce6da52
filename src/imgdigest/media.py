"""Media types and the manifest, index and descriptor models.

A registry answers with bytes and a ``Content-Type``; what those bytes are decides
what a digest means. An *index* (OCI image index or Docker manifest list) names one
manifest per platform, a *manifest* names a config and layers. Both are parsed here
from the exact bytes served, never re-serialized, because the digest is the hash of
those bytes.

An image config is read here too, for the one thing every command wants from it
without looking further: the platform of a single-platform image. Registry content
that does not parse is ``UnsupportedError`` (exit 7) wherever it is read, so
``resolve``, ``pin`` and the exploring commands fail the same way on the same blob.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from imgdigest import platform as platforms
from imgdigest.errors import PlatformNotFoundError, UnsupportedError
from imgdigest.jsonfile import json_object
from imgdigest.platform import Platform

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"

INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
SCHEMA1_TYPES = frozenset({DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED})

# Order matters only for readability; registries pick by their own preference.
# All four are always sent: leaving out the index types makes some registries
# answer with the amd64 child, whose digest is not the one a tag names.
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))

# containerd refuses manifests larger than this; so do we, before reading them whole.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024

ATTESTATION_ANNOTATION = "vnd.docker.reference.type"


def is_index(media_type: str) -> bool:
    return media_type in INDEX_TYPES


def kind_of(media_type: str) -> str:
    """A word for people: ``index``, ``manifest``, or the media type itself."""
    if media_type in INDEX_TYPES:
        return "index"
    if media_type in MANIFEST_TYPES:
        return "manifest"
    return media_type or "unknown"


@dataclass(frozen=True)
class Descriptor:
    """A pointer to content: media type, digest, size, and optional platform."""

    media_type: str
    digest: str
    size: int
    platform: Platform | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    artifact_type: str | None = None

    @property
    def is_attestation(self) -> bool:
        """Build attestations ride in indexes as fake ``unknown/unknown`` children."""
        if ATTESTATION_ANNOTATION in self.annotations:
            return True
        p = self.platform
        return p is not None and p.os == "unknown" and p.architecture == "unknown"

    @classmethod
    def from_json(cls, obj: Any, where: str) -> Descriptor:
        if not isinstance(obj, dict):
            raise UnsupportedError(f"{where}: descriptor is not an object")
        try:
            digest = obj["digest"]
            size = obj["size"]
        except KeyError as exc:
            raise UnsupportedError(f"{where}: descriptor lacks {exc.args[0]!r}") from None
        if not isinstance(digest, str) or not isinstance(size, int):
            raise UnsupportedError(f"{where}: descriptor has a malformed digest or size")
        platform = None
        if isinstance(obj.get("platform"), dict):
            platform = Platform.from_oci(obj["platform"])
        annotations = obj.get("annotations") or {}
        return cls(
            media_type=str(obj.get("mediaType", "")),
            digest=digest,
            size=size,
            platform=platform,
            annotations={str(k): str(v) for k, v in annotations.items()}
            if isinstance(annotations, dict)
            else {},
            artifact_type=obj.get("artifactType"),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
        }
        if self.platform is not None:
            out["platform"] = self.platform.to_oci()
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        return out


@dataclass(frozen=True)
class Manifest:
    """A parsed manifest or index, with the exact bytes it came from."""

    media_type: str
    raw: bytes
    json: dict[str, Any]
    manifests: tuple[Descriptor, ...] = ()  # children, for an index
    config: Descriptor | None = None  # for an image manifest
    layers: tuple[Descriptor, ...] = ()
    artifact_type: str | None = None

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES

    @classmethod
    def parse(cls, raw: bytes, content_type: str, where: str) -> Manifest:
        """Parse served bytes; the ``mediaType`` field wins over a vague Content-Type."""
        obj = content_object(raw, where, "manifest")
        media_type = obj.get("mediaType") or _strip_params(content_type)
        if not media_type:
            media_type = OCI_INDEX if "manifests" in obj else OCI_MANIFEST
        if media_type in SCHEMA1_TYPES or obj.get("schemaVersion") == 1:
            raise UnsupportedError(
                f"{where}: Docker schema 1 manifests are unsupported "
                "(deprecated and unverifiable); "
                "push the image again with a current client"
            )
        manifests: tuple[Descriptor, ...] = ()
        config = None
        layers: tuple[Descriptor, ...] = ()
        if isinstance(obj.get("manifests"), list):
            manifests = tuple(
                Descriptor.from_json(d, f"{where}: manifests[{i}]")
                for i, d in enumerate(obj["manifests"])
            )
            if media_type not in INDEX_TYPES and "config" not in obj:
                media_type = OCI_INDEX
        if isinstance(obj.get("config"), dict):
            config = Descriptor.from_json(obj["config"], f"{where}: config")
        if isinstance(obj.get("layers"), list):
            layers = tuple(
                Descriptor.from_json(d, f"{where}: layers[{i}]")
                for i, d in enumerate(obj["layers"])
            )
        return cls(
            media_type=media_type,
            raw=raw,
            json=obj,
            manifests=manifests,
            config=config,
            layers=layers,
            artifact_type=obj.get("artifactType"),
        )


def content_object(data: bytes, where: str, what: str) -> dict[str, Any]:
    """Registry content that must be a JSON object (``UnsupportedError`` otherwise)."""
    return json_object(data, where, what, UnsupportedError)


def parse_config(data: bytes, where: str) -> dict[str, Any]:
    """An image config blob as a JSON object."""
    return content_object(data, where, "image config")


def config_platform(data: bytes, where: str) -> Platform:
    """The platform an image config says its image is for, normalized."""
    config = parse_config(data, where)
    if not config.get("os") or not config.get("architecture"):
        raise PlatformNotFoundError(f"{where}: image config names no os/architecture")
    return platforms.normalize(Platform.from_oci(config))


def _strip_params(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip()


def media_type_of(content_type: str | None) -> str:
    """The bare media type of a Content-Type header value."""
    return _strip_params(content_type or "")
