"""Referrers for tests: artifact manifests with a ``subject``, cosign-style signatures, and a
registry front that implements the OCI 1.1 referrers API.

The builders return ``PushedImage`` records (a manifest with its blobs) so ``push_built``
pushes them; ``push_referrer`` also maintains the referrers tag schema (``sha256-HEX``
index) the way the distribution spec tells a client to on a registry without the API,
and ``push_cosign`` tags a signature ``sha256-HEX.sig`` as cosign does. None of it uses
imgdigest: these are the independent witnesses of what a registry holds.

The distribution registry answers 404 to ``GET /v2/NAME/referrers/DIGEST``.
``ReferrersFront`` is a ``FaultProxy`` that answers it from the manifests pushed through
it (with ``Link`` pagination, ``artifactType`` filtering and ``OCI-Filters-Applied``), and
sets ``OCI-Subject`` on manifest pushes the way a registry with the API does; ``mode``
makes it misbehave: ``garbage`` (a body that is no index), ``loop`` (a next link back to
the first page), ``lie`` (lists a manifest whose subject is another digest).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from .client import Endpoint, RegistryClient
from .faultproxy import Fault, FaultProxy, ProxiedRequest, _make_handler
from .httpserver import ThreadedServer
from .images import (
    OCI_INDEX,
    OCI_MANIFEST,
    PushedImage,
    push_built,
    push_manifest,
    serialize,
    sha256_digest,
)

EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"
SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SPDX = "application/spdx+json"
CYCLONEDX = "application/vnd.cyclonedx+json"
DSSE = "application/vnd.dsse.envelope.v1+json"
SLSA_V1 = "https://slsa.dev/provenance/v1"
CREATED = "org.opencontainers.image.created"


def _manifest(
    subject: Any,
    artifact_type: str | None,
    layers: list[tuple[str, bytes, dict[str, str]]],
    annotations: dict[str, str] | None,
    config: tuple[str, bytes] = (EMPTY_CONFIG, b"{}"),
) -> PushedImage:
    config_type, config_bytes = config
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        **({"artifactType": artifact_type} if artifact_type else {}),
        "config": {
            "mediaType": config_type,
            "digest": sha256_digest(config_bytes),
            "size": len(config_bytes),
        },
        "layers": [
            {
                "mediaType": media,
                "digest": sha256_digest(data),
                "size": len(data),
                **({"annotations": ann} if ann else {}),
            }
            for media, data, ann in layers
        ],
    }
    if subject is not None:
        doc["subject"] = {
            "mediaType": subject.media_type,
            "digest": subject.digest,
            "size": subject.size,
        }
    if annotations:
        doc["annotations"] = annotations
    raw = serialize(doc)
    return PushedImage(
        digest=sha256_digest(raw),
        manifest_bytes=raw,
        media_type=OCI_MANIFEST,
        config_digest=sha256_digest(config_bytes),
        config_bytes=config_bytes,
        layer_digests=[sha256_digest(d) for _, d, _ in layers],
        layer_bytes=[d for _, d, _ in layers],
        layer_media_types=[m for m, _, _ in layers],
        layer_files=[{} for _ in layers],
        diff_ids=[sha256_digest(d) for _, d, _ in layers],
        platform=("", "", ""),
    )


def build_sbom(
    subject: Any, fmt: str = "spdx", created: str = "2024-01-02T03:04:05Z"
) -> PushedImage:
    """An OCI 1.1 SBOM artifact (SPDX or CycloneDX) whose ``subject`` is ``subject``."""
    media = SPDX if fmt == "spdx" else CYCLONEDX
    body = serialize({"sbom": fmt, "for": subject.digest})
    return _manifest(subject, media, [(media, body, {})], {CREATED: created})


def build_attestation_artifact(subject: Any, predicate: str = SLSA_V1) -> PushedImage:
    """An in-toto statement in a DSSE envelope, attached by ``subject``."""
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "predicateType": predicate,
        "subject": [{"name": "image", "digest": {"sha256": subject.digest.split(":", 1)[1]}}],
        "predicate": {},
    }
    envelope = serialize(
        {
            "payloadType": "application/vnd.in-toto+json",
            "payload": base64.b64encode(json.dumps(statement).encode()).decode(),
            "signatures": [{"sig": "AAAA"}],
        }
    )
    return _manifest(
        subject,
        "application/vnd.in-toto+json",
        [(DSSE, envelope, {"in-toto.io/predicate-type": predicate})],
        {CREATED: "2024-01-02T03:04:06Z"},
    )


def build_notation(subject: Any) -> PushedImage:
    media = "application/vnd.cncf.notary.signature"
    return _manifest(subject, media, [("application/jose+json", b'{"sig":"x"}\n', {})], None)


def build_cosign_signature(
    subject: Any, reference: str = "registry.example/app", *, with_subject: bool = False
) -> PushedImage:
    """A cosign signature manifest: the simple-signing payload as its layer, the signature in
    the ``dev.cosignproject.cosign/signature`` annotation (arbitrary bytes here)."""
    payload = json.dumps(
        {
            "critical": {
                "identity": {"docker-reference": reference},
                "image": {"docker-manifest-digest": subject.digest},
                "type": "cosign container image signature",
            },
            "optional": None,
        }
    ).encode()
    signature = base64.b64encode(sha256_digest(payload).encode()).decode()
    return _manifest(
        subject if with_subject else None,
        None,
        [(SIMPLESIGNING, payload, {"dev.cosignproject.cosign/signature": signature})],
        None,
        config=(
            "application/vnd.oci.image.config.v1+json",
            serialize({"architecture": "", "os": ""}),
        ),
    )


def tag_of(digest: str, suffix: str = "") -> str:
    algo, _, hexpart = digest.partition(":")
    return f"{algo}-{hexpart}" + (f".{suffix}" if suffix else "")


def push_referrer(
    registry: Endpoint, repo: str, referrer: PushedImage, subject: Any, *, tag_schema: bool = True
) -> PushedImage:
    """Push ``referrer`` by digest and, unless the registry is known to have the API, add it
    to the ``sha256-HEX`` index the referrers tag schema keeps for ``subject``."""
    with RegistryClient(registry) as client:
        pushed = push_built(registry, repo, None, referrer, client=client)
        if tag_schema:
            _add_to_schema_index(client, repo, subject.digest, referrer)
    assert isinstance(pushed, PushedImage)
    return pushed


def _add_to_schema_index(
    client: RegistryClient, repo: str, subject: str, referrer: PushedImage
) -> str:
    tag = tag_of(subject)
    got = client.get_manifest(repo, tag, OCI_INDEX)
    entries: list[dict[str, Any]] = []
    if got.status_code == 200:
        entries = json.loads(got.content).get("manifests") or []
    doc = json.loads(referrer.manifest_bytes)
    entry: dict[str, Any] = {
        "mediaType": OCI_MANIFEST,
        "digest": referrer.digest,
        "size": referrer.size,
    }
    if doc.get("artifactType"):
        entry["artifactType"] = doc["artifactType"]
    if doc.get("annotations"):
        entry["annotations"] = doc["annotations"]
    if all(e.get("digest") != referrer.digest for e in entries):
        entries.append(entry)
    index = serialize({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
    return push_manifest(client, repo, tag, index, OCI_INDEX)


def push_cosign(
    registry: Endpoint, repo: str, signature: PushedImage, subject: Any, suffix: str = "sig"
) -> PushedImage:
    """Push a cosign-style manifest under ``sha256-HEX.sig`` (or ``.att``, ``.sbom``)."""
    pushed = push_built(registry, repo, tag_of(subject.digest, suffix), signature)
    assert isinstance(pushed, PushedImage)
    return pushed


# -- a registry front with the referrers API -------------------------------------------
_REFERRERS = re.compile(r"^/v2/(?P<name>.+)/referrers/(?P<digest>[a-z0-9]+:[a-f0-9]+)$")
_MANIFEST = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)$")


@dataclass
class _Seen:
    descriptor: dict[str, Any]
    subject: str


class ReferrersFront(FaultProxy):
    """A proxy that adds the referrers API to the registry behind it (see the module doc)."""

    def __init__(self, upstream: Endpoint, *, page_size: int = 2, **kwargs: Any) -> None:
        super().__init__(upstream, **kwargs)
        self.page_size = page_size
        self.mode = ""
        self.filters = True  # apply the artifactType filter (and say so)
        self._seen: dict[str, list[_Seen]] = {}
        self._seen_lock = threading.Lock()

    def start(self) -> ReferrersFront:
        context = self.ca.server_context() if self.tls and self.ca is not None else None
        self._stopping.clear()
        self._server = ThreadedServer(_front_handler(self), ssl_context=context)
        self._server.start()
        return self

    def record(self, repo: str, body: bytes) -> str | None:
        """Remember a pushed manifest with a subject; returns the subject digest."""
        try:
            doc = json.loads(body)
        except ValueError:
            return None
        subject = doc.get("subject") if isinstance(doc, dict) else None
        if not isinstance(subject, dict) or "digest" not in subject:
            return None
        descriptor: dict[str, Any] = {
            "mediaType": doc.get("mediaType", OCI_MANIFEST),
            "digest": sha256_digest(body),
            "size": len(body),
        }
        artifact = doc.get("artifactType") or doc.get("config", {}).get("mediaType")
        if artifact:
            descriptor["artifactType"] = artifact
        if doc.get("annotations"):
            descriptor["annotations"] = doc["annotations"]
        with self._seen_lock:
            listed = self._seen.setdefault(repo, [])
            if all(s.descriptor["digest"] != descriptor["digest"] for s in listed):
                listed.append(_Seen(descriptor, subject["digest"]))
        return str(subject["digest"])

    def listing(self, repo: str, digest: str) -> list[dict[str, Any]]:
        with self._seen_lock:
            return [s.descriptor for s in self._seen.get(repo, []) if s.subject == digest]

    def any_other(self, repo: str, digest: str) -> dict[str, Any] | None:
        with self._seen_lock:
            for s in self._seen.get(repo, []):
                if s.subject != digest:
                    return s.descriptor
        return None


def _front_handler(front: ReferrersFront) -> type:
    base = _make_handler(front)

    class FrontHandler(base):  # type: ignore[misc, valid-type]
        def _proxy(self) -> None:
            parts = urlsplit(self.path)
            m = _REFERRERS.match(parts.path)
            if self.command == "GET" and m:
                self.read_request_body()
                request = ProxiedRequest("GET", parts.path, parts.query, dict(self.headers.items()))
                front._record(request)  # counted like any other request
                self._referrers(m["name"], m["digest"], parse_qs(parts.query))
                return
            super()._proxy()

        def _forward(self, method: str, body: bytes, faults: list[Fault]) -> None:
            m = _MANIFEST.match(urlsplit(self.path).path)
            if method == "PUT" and m:
                subject = front.record(m["name"], body)
                if subject is not None:
                    faults = [*faults, Fault("set_header", header="OCI-Subject", target=subject)]
            super()._forward(method, body, faults)

        def _referrers(self, repo: str, digest: str, query: dict[str, list[str]]) -> None:
            entries = front.listing(repo, digest)
            headers: dict[str, str] = {"Content-Type": OCI_INDEX}
            wanted = (query.get("artifactType") or [""])[0]
            if wanted and front.filters:
                entries = [e for e in entries if e.get("artifactType") == wanted]
                headers["OCI-Filters-Applied"] = "artifactType"
            if front.mode == "lie":
                other = front.any_other(repo, digest)
                if other is not None:
                    entries = [*entries, other]
            start = int((query.get("page") or ["0"])[0])
            page = entries[start : start + front.page_size]
            rest = start + front.page_size < len(entries)
            if rest or front.mode == "loop":
                following = {"page": str(start + front.page_size)}
                if front.mode == "loop":
                    following = {"page": "0", "again": "1"}
                if wanted:
                    following["artifactType"] = wanted
                link = f"/v2/{repo}/referrers/{digest}?{urlencode(following)}"
                headers["Link"] = f'<{link}>; rel="next"'
            if front.mode == "garbage":
                body = b'{"manifests": "not a list"}'
            else:
                body = serialize({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": page})
            del headers["Content-Type"]
            self.send_simple(200, body, OCI_INDEX, headers=headers)

    return FrontHandler


__all__ = [
    "ReferrersFront",
    "build_attestation_artifact",
    "build_cosign_signature",
    "build_notation",
    "build_sbom",
    "push_cosign",
    "push_referrer",
    "tag_of",
]
