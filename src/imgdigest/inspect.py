"""What the inspecting jobs answer, as typed results with a stable ``to_json()``.

:mod:`imgdigest.explore` walks an image's graph on any
:class:`~imgdigest.sources.ImageSource`; this module turns a walk into the answer a
caller asked for (a manifest, a config, the layers, the tree, a repository's tags), each
naming the reference it was asked about. The command line prints ``to_json()`` for
``--format json``, so a program and the CLI see the same fields.

It is also where local images (``oci:``, ``docker-archive:``) get a
:class:`~imgdigest.resolver.Resolution` like registry references do, so ``resolve``
answers both with one type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from imgdigest import platform as platforms
from imgdigest.explore import Layer, Node, Selected, select
from imgdigest.media import Manifest, parse_config
from imgdigest.platform import Platform
from imgdigest.resolver import Child, Resolution
from imgdigest.sources.base import ImageSource


@dataclass(frozen=True)
class ManifestInfo:
    """A manifest or index exactly as stored (``raw`` hashes to ``digest``), and how it was
    reached: ``index_digest`` and ``platform`` when it was picked from an index."""

    reference: str
    digest: str
    manifest: Manifest
    index_digest: str | None = None
    platform: Platform | None = None
    #: the platform was not asked for but taken from this machine's
    defaulted: bool = False

    @property
    def raw(self) -> bytes:
        return self.manifest.raw

    @classmethod
    def of(cls, reference: str, sel: Selected) -> ManifestInfo:
        return cls(
            reference, sel.digest, sel.manifest, sel.index_digest, sel.platform, sel.defaulted
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "digest": self.digest,
            "media_type": self.manifest.media_type,
            "size": len(self.manifest.raw),
            "index_digest": self.index_digest,
            "platform": platforms.format_all(self.platform) if self.platform else None,
            "manifest": self.manifest.json,
        }


@dataclass(frozen=True)
class ImageConfig:
    """An image's config blob, verified against ``digest`` (the config's own digest)."""

    reference: str
    manifest_digest: str
    digest: str
    raw: bytes
    platform: Platform | None = None
    defaulted: bool = False

    @property
    def json(self) -> dict[str, Any]:
        return parse_config(self.raw, self.reference)

    def to_json(self) -> dict[str, Any]:
        return self.json


@dataclass(frozen=True)
class LayerList:
    """An image's layers, in order, each with the diff_id its config records."""

    reference: str
    digest: str
    layers: list[Layer]
    platform: Platform | None = None
    defaulted: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "digest": self.digest,
            "layers": [layer.to_json() for layer in self.layers],
        }


@dataclass(frozen=True)
class ImageTree:
    """Everything below what a reference names: index, manifests, configs, layers."""

    reference: str
    root: Node

    def to_json(self) -> dict[str, Any]:
        count, total = self.root.unique_size()
        return {
            "reference": self.reference,
            **self.root.to_json(),
            "objects": count,
            "total_size": total,
        }


@dataclass(frozen=True)
class TagList:
    """A repository's tags, and the manifest map some registries (GCR) send with them."""

    repository: str
    tags: list[str]
    manifests: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"repository": self.repository, "tags": self.tags}
        if self.manifests:
            obj["manifest"] = self.manifests
        return obj


async def resolve_local(
    source: ImageSource, given: str, platform: Platform | None = None, children: bool = False
) -> Resolution:
    """The digest a local reference names, answered from its layout or archive."""
    sel = await select(source, platform, need_image=False)
    m = sel.manifest
    kids = tuple(
        Child(d.platform, d.digest, d.media_type, d.size, d.is_attestation) for d in m.manifests
    )
    return Resolution(
        given=given,
        reference=None,
        digest=sel.digest,
        media_type=m.media_type,
        size=len(m.raw),
        index_digest=sel.index_digest,
        platform=sel.platform,
        children=kids if children else (),
        endpoint=source.where,
    )
