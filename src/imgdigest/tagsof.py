"""Which tags name a digest: directly, or through an index that lists it as a child.

The cheap way exists only on some registries: a tag list that carries a ``manifest``
map (GCR, Artifact Registry) answers in the listing requests themselves. Elsewhere
every tag is HEAD-ed, concurrently, over the resolver's shared connections and one
token; each distinct index among the answers is then fetched once (by digest, so
from the cache after the first time) to see whether the digest is one of its
platform manifests. That is how ``tags-of`` finds ``v1.2`` for the amd64 digest a
node reports, although ``v1.2`` names the multi-platform index.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from imgdigest import platform as platforms
from imgdigest.errors import ImgdigestError
from imgdigest.media import INDEX_TYPES, Manifest
from imgdigest.reference import Reference
from imgdigest.registry.mirrors import Endpoint
from imgdigest.registry.tags import list_tags, merge_manifests
from imgdigest.resolver import AsyncResolver, Resolution

MAX_NESTING = 3


@dataclass(frozen=True)
class TagMatch:
    tag: str
    digest: str  # what the tag names: the digest itself, or the index holding it
    via_index: bool = False
    platform: str | None = None  # the child's platform, when found through an index

    def to_json(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "digest": self.digest,
            "via_index": self.via_index,
            "platform": self.platform,
        }


@dataclass(frozen=True)
class TagsOf:
    matches: list[TagMatch]
    tags_listed: int
    method: str  # "tag list manifest map" or "HEAD per tag"
    failed: list[tuple[str, str]]  # tags that could not be resolved, with the reason
    reference: str = ""  # as the caller gave it
    digest: str = ""  # the digest looked for

    def to_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "digest": self.digest,
            "tags": [m.to_json() for m in self.matches],
            "tags_listed": self.tags_listed,
            "method": self.method,
        }


def registry_endpoint(resolver: AsyncResolver, ref: Reference) -> Endpoint:
    """The registry itself (not a mirror): only it knows every tag."""
    eps = resolver.endpoints(ref)
    return next((ep for ep in eps if not ep.mirror), eps[-1])


async def tags_of(resolver: AsyncResolver, ref: Reference, digest: str) -> TagsOf:
    ep = registry_endpoint(resolver, ref)
    tags: list[str] = []
    manifest_map: dict[str, dict[str, Any]] = {}
    async for page in list_tags(resolver.transport, ep):
        tags.extend(page.tags)
        merge_manifests(manifest_map, page)
    if manifest_map:
        return await _from_map(resolver, ref, digest, tags, manifest_map)
    return await _by_head(resolver, ref, digest, tags)


async def _from_map(
    resolver: AsyncResolver,
    ref: Reference,
    digest: str,
    tags: list[str],
    manifest_map: dict[str, dict[str, Any]],
) -> TagsOf:
    named: dict[str, tuple[str, str]] = {}  # tag -> (digest, media type)
    for d, info in manifest_map.items():
        for t in info.get("tag") or []:
            named[str(t)] = (d, str(info.get("mediaType") or (info.get("imageSizeBytes") and "")))
    resolutions = [(t, d, mt) for t, (d, mt) in named.items()]
    matches = await _match(resolver, ref, digest, resolutions)
    return TagsOf(matches, len(tags), "tag list manifest map", [])


async def _by_head(resolver: AsyncResolver, ref: Reference, digest: str, tags: list[str]) -> TagsOf:
    results = await resolver.resolve_many([ref.without_digest().with_tag(t) for t in tags])
    found: list[tuple[str, str, str]] = []
    failed: list[tuple[str, str]] = []
    for t, res in zip(tags, results, strict=True):
        if isinstance(res, Resolution):
            found.append((t, res.digest, res.media_type))
        else:
            failed.append((t, str(res)))
    matches = await _match(resolver, ref, digest, found)
    return TagsOf(matches, len(tags), "HEAD per tag", failed)


async def _match(
    resolver: AsyncResolver, ref: Reference, digest: str, named: list[tuple[str, str, str]]
) -> list[TagMatch]:
    matches = [TagMatch(t, d) for t, d, _ in named if d == digest]
    indexes = sorted({d for _, d, mt in named if d != digest and (mt in INDEX_TYPES or not mt)})
    children = await asyncio.gather(*(_child_platform(resolver, ref, i, digest) for i in indexes))
    holding = {i: p for i, p in zip(indexes, children, strict=True) if p is not None}
    matches += [
        TagMatch(t, d, via_index=True, platform=holding[d] or None)
        for t, d, _ in named
        if d in holding
    ]
    return sorted(matches, key=lambda m: (m.via_index, m.tag))


async def _child_platform(
    resolver: AsyncResolver, ref: Reference, index_digest: str, digest: str, depth: int = 0
) -> str | None:
    """The platform under which ``index_digest`` lists ``digest`` ("" if it has none)."""
    try:
        manifest: Manifest
        manifest, _ = await resolver.manifest(ref.without_digest(), index_digest)
    except ImgdigestError:
        return None
    if not manifest.is_index:
        return None
    for d in manifest.manifests:
        if d.digest == digest:
            return platforms.format(d.platform) if d.platform else ""
    if depth < MAX_NESTING:
        for d in manifest.manifests:
            if d.media_type in INDEX_TYPES:
                found = await _child_platform(resolver, ref, d.digest, digest, depth + 1)
                if found is not None:
                    return found
    return None
