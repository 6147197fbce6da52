"""The content-addressed graph of an image: pick a platform, walk it, list its layers.

Every exploring command answers from the same three steps: fetch what the reference
names (index or manifest), descend to a platform's manifest when one is needed, and
read config and layer descriptors from it. The walk works on any
:class:`~imgdigest.sources.ImageSource`, so a registry, an OCI layout and a
``docker save`` archive look the same.

The tree also shows what refers to each index and manifest in it (signatures,
attestations, SBOMs; see :mod:`imgdigest.referrers`), under the digest they refer to.

Content that is not an image (OCI artifacts, unknown media types) is shown with the
type it declares rather than refused; only what would have to be parsed as an image
(a config, a layer list) raises ``UnsupportedError`` when it is something else.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from imgdigest import platform as platforms
from imgdigest.errors import (
    ImgdigestError,
    InvalidDigestError,
    NotFoundError,
    PlatformNotFoundError,
    UnsupportedError,
)
from imgdigest.media import (
    DOCKER_CONFIG,
    INDEX_TYPES,
    MANIFEST_TYPES,
    OCI_CONFIG,
    Descriptor,
    Manifest,
    config_platform,
    parse_config,
)
from imgdigest.platform import Platform
from imgdigest.referrers import lookup
from imgdigest.sources.base import ImageSource

MAX_DEPTH = 4
IMAGE_CONFIG_TYPES = frozenset({OCI_CONFIG, DOCKER_CONFIG})


@dataclass(frozen=True)
class Selected:
    """The manifest a command works on, and how it was reached."""

    manifest: Manifest
    digest: str
    index_digest: str | None = None
    platform: Platform | None = None
    defaulted: bool = False  # the platform was not asked for but taken from the host


async def select(
    source: ImageSource, platform: str | Platform | None, need_image: bool = True
) -> Selected:
    """The manifest for ``platform``; an index without one takes the host's platform
    when ``need_image`` (config, layers and files need a single image)."""
    top, digest = await source.top()
    wanted = platforms.parse(platform) if isinstance(platform, str) else platform
    if top.is_index:
        if wanted is None and not need_image:
            return Selected(top, digest)
        defaulted = wanted is None
        chosen = wanted or platforms.default()
        child, manifest = await _child_for(source, top, digest, chosen, 0)
        return Selected(manifest, child.digest, digest, child.platform, defaulted)
    if wanted is not None:
        have = await image_platform(source, top, digest)
        if not platforms.only(wanted).match(have):
            raise PlatformNotFoundError(
                f"{source.where}: single-platform image is {platforms.format(have)}, "
                f"not {platforms.format(wanted)}"
            )
        return Selected(top, digest, None, have)
    return Selected(top, digest)


async def _child_for(
    source: ImageSource, index: Manifest, digest: str, wanted: Platform, depth: int
) -> tuple[Descriptor, Manifest]:
    if depth >= MAX_DEPTH:
        raise UnsupportedError(f"{source.at(digest)}: indexes nested deeper than {MAX_DEPTH}")
    candidates = [
        d for d in index.manifests if d.platform is not None and not d.is_attestation
    ]
    best = platforms.best_match(wanted, [d.platform for d in candidates if d.platform])
    if best is not None:
        child = candidates[best]
        manifest = await source.manifest(child.digest)
        if manifest.is_index:
            return await _child_for(source, manifest, child.digest, wanted, depth + 1)
        return child, manifest
    for d in index.manifests:
        if d.media_type in INDEX_TYPES and d.platform is None:
            inner = await source.manifest(d.digest)
            try:
                return await _child_for(source, inner, d.digest, wanted, depth + 1)
            except PlatformNotFoundError:
                continue
    available = sorted({platforms.format(d.platform) for d in candidates if d.platform})
    raise PlatformNotFoundError(
        f"{source.at(digest)}: no manifest for platform {platforms.format(wanted)}; "
        f"available: {', '.join(available) or 'none'}"
    )


async def image_platform(source: ImageSource, manifest: Manifest, digest: str) -> Platform:
    return config_platform(await config_bytes(source, manifest, digest), source.at(digest))


async def config_bytes(source: ImageSource, manifest: Manifest, digest: str) -> bytes:
    """The config blob of an image manifest, verified."""
    if manifest.is_index:
        raise UnsupportedError(f"{source.at(digest)}: an index has no config; pick a --platform")
    if manifest.config is None:
        raise UnsupportedError(
            f"{source.at(digest)}: {manifest.artifact_type or manifest.media_type} has no config"
        )
    return await source.blob(manifest.config.digest)


# -- layers ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Layer:
    index: int
    descriptor: Descriptor
    diff_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "digest": self.descriptor.digest,
            "media_type": self.descriptor.media_type,
            "size": self.descriptor.size,
            "diff_id": self.diff_id,
            **({"annotations": self.descriptor.annotations} if self.descriptor.annotations else {}),
        }


async def layers(source: ImageSource, sel: Selected) -> list[Layer]:
    """Each layer with the uncompressed digest (diff_id) its image config records."""
    m = sel.manifest
    if m.is_index:
        raise UnsupportedError(
            f"{source.at(sel.digest)}: an index has no layers; pick a --platform"
        )
    diff_ids: list[Any] = []
    if m.config is not None and m.config.media_type in IMAGE_CONFIG_TYPES | {""}:
        cfg = parse_config(await source.blob(m.config.digest), source.at(m.config.digest))
        rootfs = cfg.get("rootfs")
        if isinstance(rootfs, dict) and isinstance(rootfs.get("diff_ids"), list):
            diff_ids = rootfs["diff_ids"]
    return [
        Layer(i, d, str(diff_ids[i]) if i < len(diff_ids) else None)
        for i, d in enumerate(m.layers)
    ]


def pick_layers(all_layers: list[Layer], which: str | None, where: str) -> list[Layer]:
    """``None``: every layer; ``N`` (negative counts from the end); or a digest (prefix)."""
    if which is None:
        return all_layers
    if which.lstrip("-").isdigit():
        n = int(which)
        if not -len(all_layers) <= n < len(all_layers):
            raise NotFoundError(f"{where}: no layer {n} (the image has {len(all_layers)})")
        return [all_layers[n]]
    found = [
        layer
        for layer in all_layers
        if layer.descriptor.digest == which
        or layer.descriptor.digest.split(":", 1)[-1].startswith(which.split(":", 1)[-1])
    ]
    if len(found) > 1:
        raise InvalidDigestError(f"{where}: layer {which} is ambiguous")
    if not found:
        raise NotFoundError(f"{where}: no layer {which}")
    return found


# -- the tree ----------------------------------------------------------------------------
@dataclass
class Node:
    """One vertex of the graph: an index, a manifest, a config, a layer or another blob."""

    role: str  # index | manifest | config | layer | blob | referrer
    descriptor: Descriptor
    children: list[Node] = field(default_factory=list)
    label: str = ""  # platform, "layer N", ...
    note: str = ""  # attestation, artifact type, error fetching it

    def walk(self) -> list[Node]:
        out = [self]
        for c in self.children:
            out.extend(c.walk())
        return out

    def unique_size(self) -> tuple[int, int]:
        """(distinct pieces of content, their total size), shared layers counted once."""
        seen: dict[str, int] = {}
        for n in self.walk():
            seen.setdefault(n.descriptor.digest, max(n.descriptor.size, 0))
        return len(seen), sum(seen.values())

    def to_json(self) -> dict[str, Any]:
        d = self.descriptor
        out: dict[str, Any] = {
            "role": self.role,
            "digest": d.digest,
            "media_type": d.media_type,
            "size": d.size,
        }
        if d.platform is not None:
            out["platform"] = platforms.format_all(d.platform)
        if d.artifact_type:
            out["artifact_type"] = d.artifact_type
        if self.role in ("index", "manifest") and d.is_attestation:
            out["attestation"] = True
        if self.role == "referrer":
            out["kind"] = self.label
        if self.note:
            out["note"] = self.note
        if self.children:
            out["children"] = [c.to_json() for c in self.children]
        return out


async def tree(source: ImageSource, referrers: bool = True) -> Node:
    """The whole graph below what the reference names, with the referrers of each
    index and manifest in it unless ``referrers`` is False."""
    top, digest = await source.top()
    root = Descriptor(top.media_type, digest, len(top.raw), artifact_type=top.artifact_type)
    node = await _node_of(source, root, top, 0)
    if referrers:
        await _attach_referrers(source, [n for n in node.walk() if n.role in _SUBJECTS], 0)
    return node


_SUBJECTS = ("index", "manifest")


async def _attach_referrers(source: ImageSource, nodes: list[Node], depth: int) -> None:
    """Hang each node's referrers under it, and theirs under them (a signature of an
    attestation), at most ``MAX_DEPTH`` deep."""
    if not nodes or depth >= MAX_DEPTH:
        return
    found = await asyncio.gather(*(lookup(source, n.descriptor.digest) for n in nodes))
    added: list[Node] = []
    for node, lk in zip(nodes, found, strict=True):
        for f in lk.found:
            r = f.referrer
            where = r.tag or r.found_by
            note = f"{where}, created {r.created}" if r.created else where
            child = Node("referrer", r.descriptor(), label=r.describe(), note=note)
            node.children.append(child)
            added.append(child)
    await _attach_referrers(source, added, depth + 1)


async def _node_of(source: ImageSource, d: Descriptor, m: Manifest, depth: int) -> Node:
    if m.is_index:
        node = Node("index", d, label=_platform_label(d))
        if depth >= MAX_DEPTH:
            node.note = f"nested deeper than {MAX_DEPTH}; not followed"
            return node
        node.children = list(
            await asyncio.gather(*(_child_node(source, c, depth + 1) for c in m.manifests))
        )
        return node
    node = Node("manifest", d, label=_platform_label(d))
    if m.artifact_type:
        node.note = f"artifact {m.artifact_type}"
    if d.is_attestation:
        node.note = "attestation" + (f" for {_short(ref)}" if (ref := _subject(d)) else "")
    if m.config is not None:
        role_note = "" if m.config.media_type in IMAGE_CONFIG_TYPES else m.config.media_type
        node.children.append(Node("config", m.config, label="config", note=role_note))
    for i, layer in enumerate(m.layers):
        node.children.append(Node("layer", layer, label=f"layer {i}"))
    return node


async def _child_node(source: ImageSource, d: Descriptor, depth: int) -> Node:
    if d.media_type in INDEX_TYPES or d.media_type in MANIFEST_TYPES or not d.media_type:
        try:
            m = await source.manifest(d.digest)
        except ImgdigestError as exc:
            return Node("manifest", d, label=_platform_label(d), note=f"unavailable: {exc}")
        return await _node_of(source, d, m, depth)
    # An entry of a type we do not walk (an artifact, a foreign format): shown as is.
    return Node("blob", d, label=_platform_label(d), note=d.artifact_type or "")


def _platform_label(d: Descriptor) -> str:
    if d.platform is None:
        return ""
    return platforms.format(d.platform) if d.platform.os else "unknown"


def _subject(d: Descriptor) -> str:
    return d.annotations.get("vnd.docker.reference.digest", "")


def _short(digest: str, n: int = 12) -> str:
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:n]}" if hexpart else digest


def human_size(n: int) -> str:
    """Sizes as people read them (decimal units, like registries' web pages)."""
    if n < 0:
        return "?"
    if n < 1000:
        return f"{n} B"
    value = float(n)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000 or unit == "TB":
            return f"{value:.1f} {unit}"
    return f"{n} B"  # pragma: no cover


def render_tree(root: Node, full_digests: bool = False) -> list[str]:
    """Terminal lines for ``root``: short digests, media types, sizes and totals."""
    lines: list[str] = []

    def digest_text(d: str) -> str:
        return d if full_digests else _short(d)

    def line(n: Node) -> str:
        d = n.descriptor
        parts = [p for p in (n.label, digest_text(d.digest), _kind(n), d.media_type) if p]
        text = "  ".join(parts) + f"  {human_size(d.size)}"
        if n.role in ("index", "manifest") and n.children:
            count, total = n.unique_size()
            text += f"  (total {human_size(total)} in {count} objects)"
        if n.note:
            text += f"  [{n.note}]"
        return text

    def visit(n: Node, prefix: str, last: bool, top: bool) -> None:
        if top:
            lines.append(line(n))
            child_prefix = ""
        else:
            lines.append(prefix + ("└── " if last else "├── ") + line(n))
            child_prefix = prefix + ("    " if last else "│   ")
        for i, c in enumerate(n.children):
            visit(c, child_prefix, i == len(n.children) - 1, False)

    visit(root, "", True, True)
    count, total = root.unique_size()
    manifests = sum(1 for n in root.walk() if n.role in ("index", "manifest"))
    lines.append(f"{count} objects ({manifests} manifests), {human_size(total)} in total")
    return lines


def _kind(n: Node) -> str:
    if n.role == "referrer":
        return "referrer"
    if n.role == "manifest" and n.descriptor.is_attestation:
        return "attestation"
    return n.role if n.role in ("index", "manifest") else ""
