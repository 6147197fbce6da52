"""Synthetic but real images, built in memory and pushed through the registry HTTP API.

Everything is deterministic from a ``seed`` string: the same seed gives the same layers,
configs, manifests and digests, and different seeds give distinct images. Layers are
genuine gzip'd tarballs holding a few files (``layer_files`` says which), so tests can
list or extract them.

Manifests are serialized with ``indent=3`` and a trailing newline: stable, but unlike
any canonical form, so a client that re-serializes JSON before hashing computes a
different digest and is caught.

Pushing uses ``RegistryClient``, which shares no code with imgdigest: this module is
the independent witness of what the registry holds.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote, urljoin

from .client import Endpoint, RegistryClient
from .registry import HarnessError

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
IN_TOTO = "application/vnd.in-toto+json"

Media = Literal["oci", "docker"]
Platform = tuple[str, str] | tuple[str, str, str]
DEFAULT_PLATFORMS: tuple[Platform, ...] = (
    ("linux", "amd64", ""),
    ("linux", "arm64", "v8"),
    ("linux", "arm", "v7"),
)
_EPOCH = 1_700_000_000
_CREATED = "2023-11-14T22:13:20Z"


def sha256_digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def serialize(document: object) -> bytes:
    """Stable, deliberately non-canonical JSON (3-space indent, trailing newline)."""
    return (json.dumps(document, indent=3) + "\n").encode()


def _platform(platform: Platform) -> tuple[str, str, str]:
    os_, arch, *rest = platform
    return os_, arch, rest[0] if rest else ""


def _platform_json(platform: Platform) -> dict[str, str]:
    os_, arch, variant = _platform(platform)
    out = {"architecture": arch, "os": os_}
    if variant:
        out["variant"] = variant
    return out


@dataclass(frozen=True)
class PushedImage:
    """An image manifest with its config and layers (pushed, or ready to push)."""

    digest: str
    manifest_bytes: bytes = field(repr=False)
    media_type: str
    config_digest: str
    config_bytes: bytes = field(repr=False)
    layer_digests: list[str]
    layer_bytes: list[bytes] = field(repr=False)
    layer_media_types: list[str]
    layer_files: list[dict[str, bytes]] = field(repr=False)
    diff_ids: list[str]
    platform: tuple[str, str, str]
    repo: str | None = None
    tag: str | None = None

    @property
    def size(self) -> int:
        return len(self.manifest_bytes)

    @property
    def blobs(self) -> dict[str, bytes]:
        """Every blob the manifest references, by digest."""
        return {
            self.config_digest: self.config_bytes,
            **dict(zip(self.layer_digests, self.layer_bytes, strict=True)),
        }

    def descriptor(self, annotations: dict[str, str] | None = None, platform: bool = True) -> dict:
        """This manifest as an index entry."""
        out: dict[str, object] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
        }
        if platform:
            out["platform"] = _platform_json(self.platform)
        if annotations:
            out["annotations"] = annotations
        return out

    def with_location(self, repo: str, tag: str | None) -> PushedImage:
        return dataclasses.replace(self, repo=repo, tag=tag)


@dataclass(frozen=True)
class PushedIndex:
    """An index (or Docker manifest list) with the manifests it references."""

    digest: str
    manifest_bytes: bytes = field(repr=False)
    media_type: str
    children: list[PushedImage | PushedIndex]
    attestations: list[PushedImage]
    repo: str | None = None
    tag: str | None = None

    @property
    def size(self) -> int:
        return len(self.manifest_bytes)

    def child(self, os: str, architecture: str, variant: str = "") -> PushedImage:
        """The platform image for ``os/architecture[/variant]``."""
        for image in self.children:
            if isinstance(image, PushedImage) and image.platform == (os, architecture, variant):
                return image
        raise KeyError(f"{os}/{architecture}{'/' + variant if variant else ''}")

    def descriptor(self, annotations: dict[str, str] | None = None, platform: bool = False) -> dict:
        out: dict[str, object] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
        }
        if annotations:
            out["annotations"] = annotations
        return out

    def with_location(self, repo: str, tag: str | None) -> PushedIndex:
        return dataclasses.replace(self, repo=repo, tag=tag)


# -- building -----------------------------------------------------------------------
def make_layer(seed: str, index: int, files: int = 3) -> tuple[bytes, str, dict[str, bytes]]:
    """A deterministic gzip'd tar: ``(compressed, diff_id, {path: content})``."""
    contents = {
        f"etc/imgdigest/layer-{index}.txt": f"seed={seed} layer={index}\n".encode(),
        f"usr/share/imgdigest/{index}/data.bin": hashlib.sha256(f"{seed}/{index}".encode()).digest()
        * 8,
    }
    for extra in range(max(0, files - 2)):
        contents[f"opt/imgdigest/{index}/file-{extra}.txt"] = f"{seed}:{index}:{extra}\n".encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        directories = sorted({p.rsplit("/", i)[0] for p in contents for i in (1, 2, 3) if "/" in p})
        for directory in sorted(set(directories)):
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, _EPOCH
            tar.addfile(info)
        for path, data in sorted(contents.items()):
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), 0o644, _EPOCH
            tar.addfile(info, io.BytesIO(data))
    tar_bytes = raw.getvalue()
    compressed = gzip.compress(tar_bytes, compresslevel=6, mtime=0)
    return compressed, sha256_digest(tar_bytes), contents


def build_image(
    platform: Platform = ("linux", "amd64"),
    media: Media = "oci",
    layers: int = 1,
    seed: str = "imgdigest",
    annotations: dict[str, str] | None = None,
) -> PushedImage:
    """Build (without pushing) an image for ``platform`` with ``layers`` real layers."""
    if media not in ("oci", "docker"):
        raise ValueError(f"media must be 'oci' or 'docker', not {media!r}")
    os_, arch, variant = _platform(platform)
    seed = f"{seed}|{os_}/{arch}/{variant}|{media}"
    built = [make_layer(seed, i) for i in range(layers)]
    layer_type = OCI_LAYER if media == "oci" else DOCKER_LAYER
    config: dict[str, object] = {
        "created": _CREATED,
        "architecture": arch,
        "os": os_,
        **({"variant": variant} if variant else {}),
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/bin/sh"],
            "Labels": {"org.imgdigest.harness.seed": seed},
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id for _, diff_id, _ in built]},
        "history": [
            {"created": _CREATED, "created_by": f"imgdigest harness layer {i}"}
            for i in range(layers)
        ],
    }
    config_bytes = serialize(config)
    manifest: dict[str, object] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST if media == "oci" else DOCKER_MANIFEST,
        "config": {
            "mediaType": OCI_CONFIG if media == "oci" else DOCKER_CONFIG,
            "digest": sha256_digest(config_bytes),
            "size": len(config_bytes),
        },
        "layers": [
            {"mediaType": layer_type, "digest": sha256_digest(blob), "size": len(blob)}
            for blob, _, _ in built
        ],
    }
    if annotations and media == "oci":
        manifest["annotations"] = annotations
    manifest_bytes = serialize(manifest)
    return PushedImage(
        digest=sha256_digest(manifest_bytes),
        manifest_bytes=manifest_bytes,
        media_type=str(manifest["mediaType"]),
        config_digest=sha256_digest(config_bytes),
        config_bytes=config_bytes,
        layer_digests=[sha256_digest(blob) for blob, _, _ in built],
        layer_bytes=[blob for blob, _, _ in built],
        layer_media_types=[layer_type] * layers,
        layer_files=[files for _, _, files in built],
        diff_ids=[diff_id for _, diff_id, _ in built],
        platform=(os_, arch, variant),
    )


def build_attestation(subject: PushedImage, seed: str = "imgdigest") -> PushedImage:
    """A BuildKit-style attestation manifest (``unknown/unknown``) for ``subject``."""
    statement = {
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://spdx.dev/Document",
        "subject": [{"name": "image", "digest": {"sha256": subject.digest.split(":", 1)[1]}}],
        "predicate": {"spdxVersion": "SPDX-2.3", "name": f"sbom {seed}", "packages": []},
    }
    layer = serialize(statement)
    config_bytes = serialize(
        {
            "architecture": "unknown",
            "os": "unknown",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [sha256_digest(layer)]},
        }
    )
    manifest_bytes = serialize(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": OCI_CONFIG,
                "digest": sha256_digest(config_bytes),
                "size": len(config_bytes),
            },
            "layers": [
                {
                    "mediaType": IN_TOTO,
                    "digest": sha256_digest(layer),
                    "size": len(layer),
                    "annotations": {"in-toto.io/predicate-type": "https://spdx.dev/Document"},
                }
            ],
        }
    )
    return PushedImage(
        digest=sha256_digest(manifest_bytes),
        manifest_bytes=manifest_bytes,
        media_type=OCI_MANIFEST,
        config_digest=sha256_digest(config_bytes),
        config_bytes=config_bytes,
        layer_digests=[sha256_digest(layer)],
        layer_bytes=[layer],
        layer_media_types=[IN_TOTO],
        layer_files=[{}],
        diff_ids=[sha256_digest(layer)],
        platform=("unknown", "unknown", ""),
    )


def build_index(
    children: list[PushedImage | PushedIndex],
    media: Media = "oci",
    attestations: list[PushedImage] | None = None,
    annotations: dict[str, str] | None = None,
) -> PushedIndex:
    """An index over ``children``; ``attestations[i]`` (if given) refers to ``children[i]``."""
    entries = [child.descriptor(platform=True) for child in children]
    for subject, attestation in zip(children, attestations or [], strict=False):
        entries.append(
            attestation.descriptor(
                annotations={
                    "vnd.docker.reference.digest": subject.digest,
                    "vnd.docker.reference.type": "attestation-manifest",
                }
            )
        )
    document: dict[str, object] = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX if media == "oci" else DOCKER_LIST,
        "manifests": entries,
    }
    if annotations and media == "oci":
        document["annotations"] = annotations
    manifest_bytes = serialize(document)
    return PushedIndex(
        digest=sha256_digest(manifest_bytes),
        manifest_bytes=manifest_bytes,
        media_type=str(document["mediaType"]),
        children=list(children),
        attestations=list(attestations or []),
    )


# -- pushing ------------------------------------------------------------------------
def push_blob(client: RegistryClient, repo: str, data: bytes, chunk_size: int | None = None) -> str:
    """Upload ``data`` (monolithic POST+PUT, or PATCH chunks then PUT); return its digest."""
    digest = sha256_digest(data)
    head = client.request("HEAD", f"/v2/{repo}/blobs/{digest}", repo=repo)
    if head.status_code == 200:
        return digest
    started = client.request("POST", f"/v2/{repo}/blobs/uploads/", repo=repo)
    _expect(started, 202, f"start upload to {repo}")
    location = urljoin(client.base + "/", started.headers["Location"])
    if chunk_size:
        for offset in range(0, len(data), chunk_size):
            piece = data[offset : offset + chunk_size]
            patched = client.request(
                "PATCH",
                location,
                repo=repo,
                content=piece,
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{offset}-{offset + len(piece) - 1}",
                },
            )
            _expect(patched, 202, f"upload chunk at {offset} to {repo}")
            location = urljoin(client.base + "/", patched.headers["Location"])
        body = b""
    else:
        body = data
    separator = "&" if "?" in location else "?"
    finished = client.request(
        "PUT",
        f"{location}{separator}digest={quote(digest)}",
        repo=repo,
        content=body,
        headers={"Content-Type": "application/octet-stream"},
    )
    _expect(finished, 201, f"finish upload of {digest} to {repo}")
    return digest


def push_manifest(
    client: RegistryClient, repo: str, reference: str, body: bytes, media_type: str
) -> str:
    """PUT a manifest by tag or digest and check the registry hashed it as we did."""
    response = client.request(
        "PUT",
        f"/v2/{repo}/manifests/{reference}",
        repo=repo,
        content=body,
        headers={"Content-Type": media_type},
    )
    _expect(response, 201, f"push manifest {repo}:{reference}")
    digest = sha256_digest(body)
    announced = response.headers.get("Docker-Content-Digest")
    if announced != digest:
        raise HarnessError(
            f"registry announced {announced} for {repo}:{reference}, expected {digest}"
        )
    return digest


def push_built(
    registry: Endpoint,
    repo: str,
    tag: str | None,
    artifact: PushedImage | PushedIndex,
    *,
    client: RegistryClient | None = None,
    chunk_size: int | None = None,
) -> PushedImage | PushedIndex:
    """Push a built image or index (children first, by digest); tag it if ``tag`` is given."""
    own = client is None
    client = client or RegistryClient(registry)
    try:
        if isinstance(artifact, PushedImage):
            for data in artifact.blobs.values():
                push_blob(client, repo, data, chunk_size)
        else:
            for child in [*artifact.children, *artifact.attestations]:
                push_built(registry, repo, None, child, client=client, chunk_size=chunk_size)
        push_manifest(
            client, repo, tag or artifact.digest, artifact.manifest_bytes, artifact.media_type
        )
    finally:
        if own:
            client.close()
    return artifact.with_location(repo, tag)


def push_image(
    registry: Endpoint,
    repo: str,
    tag: str | None,
    platform: Platform = ("linux", "amd64"),
    media: Media = "oci",
    layers: int = 1,
    *,
    seed: str | None = None,
    annotations: dict[str, str] | None = None,
    chunk_size: int | None = None,
    client: RegistryClient | None = None,
) -> PushedImage:
    """Build and push one image; the seed defaults to ``repo:tag`` so tags differ."""
    image = build_image(platform, media, layers, seed or f"{repo}:{tag}", annotations)
    pushed = push_built(registry, repo, tag, image, client=client, chunk_size=chunk_size)
    assert isinstance(pushed, PushedImage)
    return pushed


def push_index(
    registry: Endpoint,
    repo: str,
    tag: str | None,
    platforms: list[Platform] | tuple[Platform, ...] = DEFAULT_PLATFORMS,
    media: Media = "oci",
    attestations: bool = True,
    *,
    layers: int = 1,
    seed: str | None = None,
    annotations: dict[str, str] | None = None,
    client: RegistryClient | None = None,
) -> PushedIndex:
    """Build and push a multi-platform index, with an attestation manifest per platform."""
    seed = seed or f"{repo}:{tag}"
    children: list[PushedImage | PushedIndex] = [
        build_image(p, media, layers, seed) for p in platforms
    ]
    notes = [build_attestation(c, seed) for c in children if isinstance(c, PushedImage)]
    index = build_index(children, media, notes if attestations else None, annotations)
    pushed = push_built(registry, repo, tag, index, client=client)
    assert isinstance(pushed, PushedIndex)
    return pushed


def push_nested_index(
    registry: Endpoint,
    repo: str,
    tag: str | None,
    children: list[PushedImage | PushedIndex],
    media: Media = "oci",
    *,
    client: RegistryClient | None = None,
) -> PushedIndex:
    """Push an index over already built (or pushed) manifests, which may be indexes too."""
    pushed = push_built(registry, repo, tag, build_index(children, media), client=client)
    assert isinstance(pushed, PushedIndex)
    return pushed


def _expect(response: object, status: int, what: str) -> None:
    code = getattr(response, "status_code", None)
    if code != status:
        text = getattr(response, "text", "")[:300]
        raise HarnessError(f"{what}: expected HTTP {status}, got {code}: {text}")
