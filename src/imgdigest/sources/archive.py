"""``docker save`` tarballs (``docker-archive:FILE[:REF]``), read without unpacking.

Two generations exist. Docker 25 and later write an OCI layout inside the tar
(``index.json`` and ``blobs/``), with real manifests and digests: it is read as a
layout, and ``REF`` matches the ``io.containerd.image.name`` each entry carries.
Older archives hold only ``manifest.json`` (config and layer tar paths per image, with
``RepoTags``) and no registry manifest at all. For those an OCI manifest is
synthesized from the config and the uncompressed layer tars, so the image has a
digest, which is the digest it gets when ``imgdigest copy`` pushes it as it is.
``REF`` is then one of the ``RepoTags`` or ``@N``, the position in ``manifest.json``.

Members are read straight from the tar, so a layer is streamed, never extracted.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from imgdigest.digest import Digest
from imgdigest.errors import DocumentError, NotFoundError
from imgdigest.media import OCI_CONFIG, OCI_MANIFEST, Descriptor
from imgdigest.sources.base import CHUNK, MAX_DOCUMENT_BYTES, read_verified, verified_chunks
from imgdigest.sources.layout import (
    Entry,
    LayoutSource,
    _listing,
    _name_matches,
    blob_path,
)

OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
_POSITION = re.compile(r"@(\d+)")


class TarFiles:
    """The members of a tar archive, addressed by path (``./`` prefixes ignored)."""

    def __init__(self, path: Path) -> None:
        self.label = str(path)
        if not path.is_file():
            raise NotFoundError(f"{path}: no such archive")
        try:
            self.tar = tarfile.open(path, "r:*")  # noqa: SIM115 - closed by aclose
            self.members = {m.name.removeprefix("./"): m for m in self.tar.getmembers()}
        except (tarfile.TarError, OSError) as exc:
            raise DocumentError(f"{path}: not a readable tar archive ({exc})") from None

    def exists(self, path: str) -> bool:
        m = self.members.get(path)
        return m is not None and (m.isfile() or m.issym() or m.islnk())

    def open(self, path: str) -> IO[bytes]:
        member = self.members.get(path)
        f = self.tar.extractfile(member) if member is not None else None
        if f is None:
            raise NotFoundError(f"{self.label}: {path} is missing from the archive")
        return f

    def read(self, path: str) -> bytes:
        with self.open(path) as f:
            return f.read()

    def close(self) -> None:
        self.tar.close()


@dataclass(frozen=True)
class _Synthesized:
    manifest: bytes
    blobs: dict[str, str]  # digest -> member path


class ArchiveSource(LayoutSource):
    """An image in a ``docker save`` archive."""

    kind = "docker-archive"

    def __init__(self, path: Path, selector: str | None, where: str) -> None:
        files = TarFiles(path)
        position = _POSITION.fullmatch(selector or "")
        super().__init__(files, None if position else selector, where)
        self.position = int(position.group(1)) if position else None
        self.tar_files = files
        self.legacy = not files.exists("index.json")
        self._entries: list[Entry] | None = None
        self._blobs: dict[str, str] = {}
        self._manifests: dict[str, bytes] = {}

    async def aclose(self) -> None:
        self.tar_files.close()

    def entries(self) -> list[Entry]:
        if not self.legacy:
            return super().entries()
        if self._entries is None:
            self._entries = self._synthesize_all()
        return self._entries

    def select(self) -> Entry:
        entries = self.entries()
        if self.position is not None:
            if self.position >= len(entries):
                raise NotFoundError(
                    f"{self.where}: the archive holds {len(entries)} images, no @{self.position}"
                )
            return entries[self.position]
        if self.legacy and self.tag:
            found = [e for e in entries if _name_matches(e.names, self.tag)]
            if not found:
                raise NotFoundError(
                    f"{self.where}: no image tagged {self.tag!r}{_listing(entries)}"
                )
            return found[0]
        return super().select()

    async def blob(self, digest: str, max_bytes: int = MAX_DOCUMENT_BYTES) -> bytes:
        if not self.legacy:
            return await super().blob(digest, max_bytes)
        self.entries()
        if digest in self._manifests:
            return self._manifests[digest]
        path = self._member(digest)
        with self.tar_files.open(path) as f:
            return read_verified(f, digest, self.at(digest), max_bytes)

    async def stream(self, digest: str) -> AsyncIterator[bytes]:
        if not self.legacy:
            async for chunk in super().stream(digest):
                yield chunk
            return
        self.entries()
        if digest in self._manifests:
            yield self._manifests[digest]
            return
        with self.tar_files.open(self._member(digest)) as f:
            for chunk in verified_chunks(f, digest, self.at(digest)):
                yield chunk

    def _member(self, digest: str) -> str:
        path = self._blobs.get(digest)
        if path is None:
            raise NotFoundError(f"{self.files.label}: no blob {digest} in the archive")
        return path

    # -- legacy archives ----------------------------------------------------------
    def _synthesize_all(self) -> list[Entry]:
        where = f"{self.files.label}: manifest.json"
        if not self.tar_files.exists("manifest.json"):
            raise NotFoundError(
                f"{self.files.label}: not a docker save archive (manifest.json is missing)"
            )
        try:
            items = json.loads(self.tar_files.read("manifest.json"))
        except json.JSONDecodeError as exc:
            raise DocumentError(f"{where}:{exc.lineno}: not valid JSON: {exc.msg}") from None
        if not isinstance(items, list):
            raise DocumentError(f"{where}: expected a list of images")
        entries = []
        for i, item in enumerate(items):
            syn = self._synthesize(item, f"{where}: image {i}")
            digest = str(Digest.of(syn.manifest))
            self._manifests[digest] = syn.manifest
            self._blobs.update(syn.blobs)
            tags = item.get("RepoTags") or []
            entries.append(
                Entry(
                    Descriptor(OCI_MANIFEST, digest, len(syn.manifest)),
                    tuple(str(t) for t in tags),
                )
            )
        return entries

    def _synthesize(self, item: Any, where: str) -> _Synthesized:
        if not isinstance(item, dict) or not isinstance(item.get("Config"), str):
            raise DocumentError(f'{where}: has no "Config" path')
        layers = item.get("Layers") or []
        if not isinstance(layers, list) or not all(isinstance(p, str) for p in layers):
            raise DocumentError(f'{where}: "Layers" is not a list of paths')
        config = self.tar_files.read(item["Config"])
        blobs = {str(Digest.of(config)): item["Config"]}
        layer_descs = []
        for path in layers:
            verifier = Digest("sha256", "0" * 64).verifier()
            size = 0
            with self.tar_files.open(path) as f:
                while chunk := f.read(CHUNK):
                    verifier.update(chunk)
                    size += len(chunk)
            digest = str(verifier.actual)
            blobs[digest] = path
            layer_descs.append({"mediaType": OCI_LAYER_TAR, "digest": digest, "size": size})
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": OCI_CONFIG,
                "digest": str(Digest.of(config)),
                "size": len(config),
            },
            "layers": layer_descs,
        }
        return _Synthesized((json.dumps(manifest, indent=3) + "\n").encode(), blobs)


def write_archive(
    layout: Path, target: Path, config: str, layers: list[str], repo_tags: list[str]
) -> None:
    """Pack an OCI layout directory as a ``docker save`` archive (Docker 25 form).

    The layout part carries every manifest and the real digests; ``manifest.json`` names
    the one image ``docker load`` imports (its config and layers, by blob path) and its
    tags. Members are written in a fixed order with zeroed times and owners, and the
    archive appears at ``target`` only once complete.
    """
    entry = {
        "Config": blob_path(config),
        "RepoTags": repo_tags,
        "Layers": [blob_path(d) for d in layers],
    }
    index_json = json.dumps([entry]).encode()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.partial-")
    try:
        with os.fdopen(fd, "wb") as f, tarfile.open(fileobj=f, mode="w") as tar:
            files = sorted(
                p for p in layout.rglob("*") if p.is_file() and not p.name.startswith(".")
            )
            for path in files:
                info = tarfile.TarInfo(path.relative_to(layout).as_posix())
                info.size, info.mode = path.stat().st_size, 0o644
                with path.open("rb") as data:
                    tar.addfile(info, data)
            info = tarfile.TarInfo("manifest.json")
            info.size, info.mode = len(index_json), 0o644
            tar.addfile(info, io.BytesIO(index_json))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["ArchiveSource", "TarFiles", "write_archive"]
