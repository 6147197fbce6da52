"""What refers to a digest: signatures, attestations and SBOMs attached to an image.

Three conventions attach content to a digest, and a registry may hold any of them:

* the OCI 1.1 referrers API (``GET /v2/NAME/referrers/DIGEST``), listing every manifest
  whose ``subject`` is the digest;
* its fallback for registries without the API, the referrers tag schema: an image index
  tagged ``sha256-HEX`` whose entries are those manifests;
* cosign's tags, ``sha256-HEX.sig``, ``.att`` and ``.sbom``, which carry no ``subject``.

All three are asked at once. Each referrer's manifest is fetched by digest (so verified)
to say what it is in words and to check that its ``subject`` really is the digest: a
registry that lists a manifest about another digest is not believed, and the entry is
left out with a note. An OCI layout keeps referrers in its ``index.json``, as the image
layout spec says, and cosign tags as entries named ``sha256-HEX.sig``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from imgdigest.errors import NotFoundError
from imgdigest.media import INDEX_TYPES, Descriptor, Manifest
from imgdigest.registry.client import ManifestHead
from imgdigest.registry.referrers import fetch_referrers
from imgdigest.sources.base import ImageSource
from imgdigest.sources.layout import REF_NAME, LayoutSource
from imgdigest.sources.registry import RegistrySource

COSIGN_SUFFIXES = ("sig", "att", "sbom")
CREATED = "org.opencontainers.image.created"
#: How deep ``walk`` follows referrers of referrers (a signature of an attestation).
MAX_DEPTH = 4

COSIGN_SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
COSIGN_SIG_ARTIFACT = "application/vnd.dev.cosign.artifact.sig.v1+json"
COSIGN_ATT_ARTIFACT = "application/vnd.dev.cosign.artifact.att.v1+json"
COSIGN_SBOM_ARTIFACT = "application/vnd.dev.cosign.artifact.sbom.v1+json"
DSSE = "application/vnd.dsse.envelope.v1+json"
IN_TOTO = "application/vnd.in-toto+json"
NOTATION = "application/vnd.cncf.notary.signature"
SIGSTORE_BUNDLE = "application/vnd.dev.sigstore.bundle"
SPDX_TYPES = ("application/spdx+json", "text/spdx", "text/spdx+json", "application/vnd.spdx+json")
CYCLONEDX_PREFIX = "application/vnd.cyclonedx"
PREDICATE_ANNOTATIONS = ("predicateType", "in-toto.io/predicate-type")

#: Predicate type URIs, by prefix, in words.
PREDICATES = (
    ("https://slsa.dev/provenance/v1", "SLSA provenance v1"),
    ("https://slsa.dev/provenance/v0.2", "SLSA provenance v0.2"),
    ("https://slsa.dev/provenance", "SLSA provenance"),
    ("https://spdx.dev/Document", "SPDX"),
    ("https://cyclonedx.org/bom", "CycloneDX"),
    ("https://cosign.sigstore.dev/attestation/vuln", "vulnerability scan"),
    ("https://cosign.sigstore.dev/attestation/v1", "cosign custom"),
    ("https://in-toto.io/attestation/vulns", "vulnerability scan"),
)


@dataclass(frozen=True)
class Referrer:
    """One manifest attached to ``subject``; ``kind`` says what it is in words."""

    subject: str
    digest: str
    media_type: str
    size: int
    kind: str
    artifact_type: str | None = None
    predicate_type: str | None = None
    created: str | None = None
    #: ``referrers API``, ``tag schema``, ``cosign tag`` or ``layout index``
    found_by: str = ""
    #: the cosign tag (``sha256-HEX.sig``) it was found under
    tag: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """``in-toto attestation (SLSA provenance v1)``, ``cosign signature``, ..."""
        if self.predicate_type:
            return f"{self.kind} ({predicate_words(self.predicate_type)})"
        return self.kind

    def descriptor(self) -> Descriptor:
        return Descriptor(
            self.media_type,
            self.digest,
            self.size,
            annotations=dict(self.annotations),
            artifact_type=self.artifact_type,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "kind": self.kind,
            "description": self.describe(),
            "artifact_type": self.artifact_type,
            "predicate_type": self.predicate_type,
            "media_type": self.media_type,
            "size": self.size,
            "created": self.created,
            "found_by": self.found_by,
            "tag": self.tag,
            "subject": self.subject,
        }


@dataclass(frozen=True)
class ReferrerList:
    """Everything attached to ``digest`` (what ``reference`` names), and how it was found."""

    reference: str
    digest: str
    referrers: list[Referrer]
    #: ``referrers API``, ``tag schema`` (the registry has no API) or ``layout index``
    method: str
    artifact_type: str | None = None
    #: entries left out, and why (a subject that is another digest, a missing manifest)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "digest": self.digest,
            "method": self.method,
            "artifact_type": self.artifact_type,
            "referrers": [r.to_json() for r in self.referrers],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Found:
    """A referrer with its verified manifest (what ``copy`` moves)."""

    referrer: Referrer
    manifest: Manifest


@dataclass
class Lookup:
    found: list[Found]
    method: str
    notes: list[str]


# -- what a manifest is ------------------------------------------------------------
def predicate_words(uri: str) -> str:
    for prefix, words in PREDICATES:
        if uri.startswith(prefix):
            return words
    return uri


def classify(m: Manifest, d: Descriptor, tag: str | None = None) -> tuple[str, str | None]:
    """``(kind in words, in-toto predicate type or None)`` of a referrer manifest."""
    artifact = d.artifact_type or m.artifact_type or (m.config.media_type if m.config else "")
    layer_types = [layer.media_type for layer in m.layers]
    predicate = next(
        (
            a[key]
            for a in [d.annotations, *(layer.annotations for layer in m.layers)]
            for key in PREDICATE_ANNOTATIONS
            if a.get(key)
        ),
        None,
    )
    types = [artifact, *layer_types]
    if artifact.startswith(SIGSTORE_BUNDLE):
        return "sigstore bundle", predicate
    if COSIGN_SIMPLESIGNING in layer_types or artifact == COSIGN_SIG_ARTIFACT:
        return "cosign signature", None
    if NOTATION in types:
        return "notation signature", None
    if DSSE in types or IN_TOTO in types or artifact == COSIGN_ATT_ARTIFACT or predicate:
        return "in-toto attestation", predicate
    if any(t in SPDX_TYPES for t in types):
        return "SPDX SBOM", None
    if any(t.startswith(CYCLONEDX_PREFIX) for t in types):
        return "CycloneDX SBOM", None
    if tag is not None:
        suffix = tag.rsplit(".", 1)[-1]
        return {"sig": "cosign signature", "att": "in-toto attestation"}.get(suffix, "SBOM"), None
    return "other", None


def cosign_tag(digest: str, suffix: str) -> str:
    """cosign's tag for what it attaches to ``digest``: ``sha256:abc`` -> ``sha256-abc.sig``."""
    return f"{schema_tag(digest)}.{suffix}"


def cosign_tags(digest: str) -> list[str]:
    return [cosign_tag(digest, s) for s in COSIGN_SUFFIXES]


def schema_tag(digest: str) -> str:
    """The referrers tag schema's tag for ``digest``: ``sha256-HEX``."""
    algo, _, hexpart = digest.partition(":")
    return f"{algo}-{hexpart}"


def subject_of(m: Manifest) -> str | None:
    subject = m.json.get("subject")
    if isinstance(subject, dict) and isinstance(subject.get("digest"), str):
        return str(subject["digest"])
    return None


# -- finding them ------------------------------------------------------------------
async def lookup(source: ImageSource, digest: str, artifact_type: str | None = None) -> Lookup:
    """The referrers of ``digest`` where ``source`` lives, each manifest verified."""
    if isinstance(source, RegistrySource):
        candidates, method, filtered = await _registry_candidates(source, digest, artifact_type)
    elif isinstance(source, LayoutSource):
        candidates, method, filtered = _layout_candidates(source, digest), "layout index", False
    else:
        return Lookup([], "none", [])
    notes: list[str] = []
    fetched = await asyncio.gather(
        *(_fetch(source, d) for d, _, _ in candidates), return_exceptions=True
    )
    found: list[Found] = []
    seen: set[str] = set()
    for (d, how, tag), m in zip(candidates, fetched, strict=True):
        if d.digest in seen:
            continue
        if isinstance(m, BaseException):
            # Only a listed manifest that is gone is passed over; content that does not
            # match its digest, or that is no manifest, is an error.
            if not isinstance(m, NotFoundError):
                raise m
            if how != "layout index":
                notes.append(f"{d.digest} ({how}) skipped: {m}")
            continue
        if m.is_index and tag is None and how == "layout index":
            continue
        subject = subject_of(m)
        if tag is None and subject != digest:
            if how != "layout index":
                notes.append(
                    f"{d.digest} ({how}) skipped: its subject is {subject or 'missing'}, "
                    f"not {digest}"
                )
            continue
        kind, predicate = classify(m, d, tag)
        art = d.artifact_type or m.artifact_type
        if artifact_type and not filtered and art != artifact_type:
            continue
        annotations = {**_annotations(m), **d.annotations}
        seen.add(d.digest)
        found.append(
            Found(
                Referrer(
                    subject=digest,
                    digest=d.digest,
                    media_type=m.media_type,
                    size=len(m.raw),
                    kind=kind,
                    artifact_type=art,
                    predicate_type=predicate,
                    created=annotations.get(CREATED),
                    found_by=how,
                    tag=tag,
                    annotations=annotations,
                ),
                m,
            )
        )
    return Lookup(found, method, notes)


async def _fetch(source: ImageSource, d: Descriptor) -> Manifest:
    return await source.manifest(d.digest)


def _annotations(m: Manifest) -> dict[str, str]:
    ann = m.json.get("annotations")
    return {str(k): str(v) for k, v in ann.items()} if isinstance(ann, dict) else {}


Candidate = tuple[Descriptor, str, str | None]  # descriptor, how found, cosign tag


async def _registry_candidates(
    source: RegistrySource, digest: str, artifact_type: str | None
) -> tuple[list[Candidate], str, bool]:
    resolver = source.resolver
    ep = resolver.endpoints(source.ref.without_digest())[-1]
    client = resolver.client

    async def head(tag: str) -> ManifestHead | None:
        # HEAD first: most of these tags do not exist, and a GET may count as a pull.
        try:
            return await client.head_manifest(ep, tag)
        except NotFoundError:
            return None

    async def by_tag(tag: str) -> tuple[Manifest, str] | None:
        found = await head(tag)
        if found is None:
            return None
        if found.manifest is not None:
            return found.manifest, found.digest
        return await source.manifest(found.digest), found.digest

    # All at once, the tag schema's tag too (it is read only if the API is missing); every
    # request finishes before an error is raised, so none is left running.
    answers = await asyncio.gather(
        fetch_referrers(resolver.transport, ep, digest, artifact_type),
        head(schema_tag(digest)),
        *(by_tag(t) for t in cosign_tags(digest)),
        return_exceptions=True,
    )
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    api, schema, *tagged = answers
    out: list[Candidate] = []
    filtered = False
    if api is not None:
        method, filtered = "referrers API", api.filtered
        out.extend((d, method, None) for d in api.descriptors)
    else:
        method = "tag schema"
        if schema is not None:
            index = schema.manifest or await source.manifest(schema.digest)
            if index.media_type in INDEX_TYPES:
                out.extend((d, method, None) for d in index.manifests)
    for tag, got in zip(cosign_tags(digest), tagged, strict=True):
        if got is not None:
            m, d = got
            out.append((Descriptor(m.media_type, d, len(m.raw)), "cosign tag", tag))
    return out, method, filtered


def _layout_candidates(source: LayoutSource, digest: str) -> list[Candidate]:
    wanted = set(cosign_tags(digest))
    out: list[Candidate] = []
    for entry in source.entries():
        if entry.digest == digest:
            continue
        name = entry.descriptor.annotations.get(REF_NAME)
        out.append((entry.descriptor, "layout index", name if name in wanted else None))
    return out


async def walk(source: ImageSource, digests: list[str]) -> list[Found]:
    """Every referrer of ``digests``, and of those referrers, breadth first, each once."""
    out: list[Found] = []
    seen = set(digests)
    level = list(digests)
    for _ in range(MAX_DEPTH):
        if not level:
            break
        lookups = await asyncio.gather(*(lookup(source, d) for d in level))
        level = []
        for lk in lookups:
            for f in lk.found:
                if f.referrer.digest not in seen:
                    seen.add(f.referrer.digest)
                    out.append(f)
                    level.append(f.referrer.digest)
    return out


async def list_referrers(
    source: ImageSource, given: str, artifact_type: str | None = None
) -> ReferrerList:
    """What refers to the digest ``given`` names (its top manifest or index)."""
    digest = source.digest
    if not digest:
        _, digest = await source.top()
    found = await lookup(source, digest, artifact_type)
    return ReferrerList(
        given,
        digest,
        [f.referrer for f in found.found],
        found.method,
        artifact_type,
        found.notes,
    )


__all__ = [
    "Found",
    "Referrer",
    "ReferrerList",
    "classify",
    "cosign_tags",
    "list_referrers",
    "lookup",
    "schema_tag",
    "subject_of",
    "walk",
]
