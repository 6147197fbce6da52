"""OCI image layout directories (``oci:DIR[:TAG]``): read them, and write them for copy.

The layout is the on-disk form skopeo, buildah, crane and ko write::

    DIR/oci-layout        {"imageLayoutVersion": "1.0.0"}
    DIR/index.json        an image index; entries are tagged with the
                          org.opencontainers.image.ref.name annotation
    DIR/blobs/ALG/HEX     every manifest, config and layer, by digest

Reading goes through a small file accessor so the same code serves a layout inside a
``docker save`` archive (Docker 25 and later write one). Every blob is verified when
read; a broken ``index.json`` names the file and line, a missing blob names its path.
Writes are atomic (temporary file, then rename), so an interrupted copy leaves only
complete, verified blobs behind and a re-run skips them.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from imgdigest import reference as references
from imgdigest.digest import Digest
from imgdigest.errors import (
    DocumentError,
    ImgdigestError,
    NotFoundError,
    UsageError,
    VerificationError,
)
from imgdigest.files import PRIVATE, replace_file
from imgdigest.media import OCI_INDEX, Descriptor, Manifest
from imgdigest.sources.base import (
    CHUNK,
    MAX_DOCUMENT_BYTES,
    ImageSource,
    read_verified,
    verified_chunks,
    verify_bytes,
)

REF_NAME = "org.opencontainers.image.ref.name"
# containerd and Docker record the full image name next to the short tag.
IMAGE_NAME = "io.containerd.image.name"
LAYOUT_VERSION = b'{"imageLayoutVersion":"1.0.0"}'
_COSIGN_TAG = re.compile(r"^[a-z0-9]+-[0-9a-f]{32,}\.(sig|att|sbom)$")


class Files(Protocol):
    """Read access to the files of a layout, wherever they are stored."""

    label: str

    def read(self, path: str) -> bytes: ...

    def open(self, path: str) -> IO[bytes]: ...

    def exists(self, path: str) -> bool: ...


class DirFiles:
    """A layout directory on disk."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.label = str(root)

    def read(self, path: str) -> bytes:
        try:
            return (self.root / path).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"{self.label}: {path} is missing") from None
        except OSError as exc:
            raise DocumentError(f"{self.label}/{path}: cannot read: {exc.strerror}") from None

    def open(self, path: str) -> IO[bytes]:
        try:
            return (self.root / path).open("rb")
        except FileNotFoundError:
            raise NotFoundError(f"{self.label}: {path} is missing") from None
        except OSError as exc:
            raise DocumentError(f"{self.label}/{path}: cannot read: {exc.strerror}") from None

    def exists(self, path: str) -> bool:
        return (self.root / path).is_file()


def blob_path(digest: str) -> str:
    """``blobs/ALG/HEX``; the digest is validated first so it cannot name another path."""
    d = Digest.parse(digest)
    return f"blobs/{d.algorithm}/{d.encoded}"


@dataclass(frozen=True)
class Entry:
    """One image named by a layout's ``index.json`` (or an archive's ``manifest.json``)."""

    descriptor: Descriptor
    names: tuple[str, ...]  # tag annotations, or RepoTags of a docker save archive

    @property
    def digest(self) -> str:
        return self.descriptor.digest


def parse_index(raw: bytes, where: str) -> Manifest:
    """``index.json``, with JSON errors reported at their line."""
    try:
        json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"{where}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    except UnicodeDecodeError:
        raise DocumentError(f"{where}: not UTF-8 text") from None
    try:
        index = Manifest.parse(raw, OCI_INDEX, where)
    except ImgdigestError as exc:
        raise DocumentError(str(exc)) from None
    if "manifests" not in index.json or not isinstance(index.json["manifests"], list):
        raise DocumentError(f'{where}: has no "manifests" list')
    return index


def entries_of(index: Manifest) -> list[Entry]:
    out = []
    for d in index.manifests:
        names = tuple(n for n in (d.annotations.get(REF_NAME), d.annotations.get(IMAGE_NAME)) if n)
        out.append(Entry(d, names))
    return out


def _name_matches(names: Iterable[str], wanted: str) -> bool:
    """A tag matches ``v1``, ``repo:v1`` or any spelling of the same full name."""
    canonical = _canonical(wanted)
    for n in names:
        if n == wanted or (":" not in wanted and n.rsplit(":", 1)[-1] == wanted):
            return True
        if canonical is not None and _canonical(n) == canonical:
            return True
    return False


def _canonical(name: str) -> str | None:
    if "/" not in name and ":" not in name:
        return None
    try:
        return str(references.normalize(name))
    except ImgdigestError:
        return None


class LayoutSource(ImageSource):
    """An image in an OCI layout, chosen by tag, by digest, or as the only image."""

    kind = "oci"

    def __init__(self, files: Files, selector: str | None, where: str) -> None:
        self.files = files
        self.selector = selector
        self.where = where
        self.tag = selector if selector and not selector.startswith("@") else None
        self.digest = selector[1:] if selector and selector.startswith("@") else None
        self._index: Manifest | None = None

    def at(self, digest: str) -> str:
        return f"{self.kind}:{self.files.label}@{digest}"

    # -- the index ---------------------------------------------------------------
    def index(self) -> Manifest:
        if self._index is None:
            where = f"{self.files.label}/index.json"
            if not self.files.exists("index.json"):
                raise NotFoundError(
                    f"{self.files.label}: not an OCI image layout (index.json is missing)"
                )
            self._index = parse_index(self.files.read("index.json"), where)
        return self._index

    def entries(self) -> list[Entry]:
        return entries_of(self.index())

    def images(self) -> list[Entry]:
        """The entries that are images, not referrers recorded beside them (signatures,
        SBOMs, attestations, which ``imgdigest referrers`` lists)."""
        return [e for e in self.entries() if not self._is_referrer(e)]

    def select(self) -> Entry:
        entries = self.entries()
        if self.digest:
            Digest.parse(self.digest)
            for e in entries:
                if e.digest == self.digest:
                    return e
            if self.files.exists(blob_path(self.digest)):
                # Not listed, but present: any manifest of the layout can be named by digest.
                raw = self.files.read(blob_path(self.digest))
                m = Manifest.parse(raw, "", self.at(self.digest))
                return Entry(Descriptor(m.media_type, self.digest, len(raw)), ())
            raise NotFoundError(f"{self.where}: no manifest with digest {self.digest}")
        if self.tag:
            found = [e for e in entries if _name_matches(e.names, self.tag)]
            if not found:
                raise NotFoundError(
                    f"{self.where}: no image tagged {self.tag!r}{_listing(entries)}"
                )
            return found[0]
        if len(entries) > 1:
            # Referrers recorded beside an image (signatures, SBOMs) are not images to pick.
            entries = [e for e in entries if not self._is_referrer(e)] or entries
        if len(entries) == 1:
            return entries[0]
        if not entries:
            raise NotFoundError(f"{self.where}: the layout holds no images")
        raise UsageError(
            f"{self.where}: the layout holds {len(entries)} images; name one as "
            f"{self.kind}:{self.files.label}:TAG or {self.kind}:{self.files.label}@DIGEST"
            f"{_listing(entries)}"
        )

    def _is_referrer(self, entry: Entry) -> bool:
        """A cosign tag (``sha256-HEX.sig``) or a manifest with a ``subject``."""
        if any(_COSIGN_TAG.match(n) for n in entry.names):
            return True
        path = blob_path(entry.digest)
        if entry.descriptor.size > MAX_DOCUMENT_BYTES or not self.files.exists(path):
            return False
        try:
            return isinstance(json.loads(self.files.read(path)).get("subject"), dict)
        except (ValueError, AttributeError, ImgdigestError):
            return False

    # -- ImageSource ---------------------------------------------------------------
    async def top(self) -> tuple[Manifest, str]:
        entry = self.select()
        return await self._manifest(entry.descriptor), entry.digest

    async def manifest(self, digest: str) -> Manifest:
        return await self._manifest(Descriptor("", digest, -1))

    async def _manifest(self, d: Descriptor) -> Manifest:
        raw = await self.blob(d.digest, MAX_DOCUMENT_BYTES)
        return Manifest.parse(raw, d.media_type, self.at(d.digest))

    async def blob(self, digest: str, max_bytes: int = MAX_DOCUMENT_BYTES) -> bytes:
        path = blob_path(digest)
        if not self.files.exists(path):
            raise NotFoundError(f"{self.files.label}: blob {digest} is missing ({path})")
        with self.files.open(path) as f:
            return read_verified(f, digest, self.at(digest), max_bytes)

    async def stream(self, digest: str) -> AsyncIterator[bytes]:
        path = blob_path(digest)
        if not self.files.exists(path):
            raise NotFoundError(f"{self.files.label}: blob {digest} is missing ({path})")
        with self.files.open(path) as f:
            for chunk in verified_chunks(f, digest, self.at(digest)):
                yield chunk


def _listing(entries: list[Entry]) -> str:
    names = sorted({n for e in entries for n in e.names[:1]})
    return f" (tags: {', '.join(names)})" if names else ""


# -- writing -----------------------------------------------------------------------
class LayoutWriter:
    """Adds blobs and tagged manifests to a layout directory, creating it if needed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.label = str(root)

    def ensure(self) -> None:
        marker = self.root / "oci-layout"
        if self.root.exists() and not self.root.is_dir():
            raise UsageError(f"{self.root}: exists and is not a directory")
        if self.root.is_dir() and any(self.root.iterdir()) and not marker.is_file():
            raise UsageError(f"{self.root}: not empty and not an OCI image layout")
        (self.root / "blobs").mkdir(parents=True, exist_ok=True)
        if not marker.is_file():
            _write_atomic(marker, LAYOUT_VERSION)
        if not (self.root / "index.json").is_file():
            _write_atomic(self.root / "index.json", _index_bytes([]))

    def has_blob(self, digest: str) -> bool:
        path = self.root / blob_path(digest)
        if not path.is_file():
            return False
        # Trust nothing on disk: a corrupt blob is rewritten rather than kept.
        d = Digest.parse(digest)
        verifier = d.verifier()
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                verifier.update(chunk)
        return verifier.verified()

    async def write_blob(self, digest: str, chunks: AsyncIterator[bytes]) -> int:
        """Store a blob from ``chunks``; it appears only once complete and verified."""
        path = self.root / blob_path(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
        verifier = Digest.parse(digest).verifier()
        total = 0
        try:
            with os.fdopen(fd, "wb") as f:
                async for chunk in chunks:
                    verifier.update(chunk)
                    f.write(chunk)
                    total += len(chunk)
            if not verifier.verified():
                raise VerificationError(
                    f"{self.label}: blob {digest} does not match its digest; got {verifier.actual}"
                )
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return total

    def write_bytes(self, digest: str, data: bytes) -> None:
        verify_bytes(data, digest, f"{self.label}: blob {digest}")
        path = self.root / blob_path(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, data)

    def tag(self, descriptor: Descriptor, name: str | None, full_name: str | None = None) -> None:
        """Record ``descriptor`` in ``index.json``, moving ``name`` to it if given.

        ``full_name`` (``registry/repo:tag``) is recorded too, as Docker and containerd do.
        """
        where = f"{self.root}/index.json"
        index = parse_index((self.root / "index.json").read_bytes(), where)
        kept: list[dict[str, Any]] = []
        for d in index.json.get("manifests", []):
            ann = d.get("annotations") or {}
            if name is not None and ann.get(REF_NAME) == name:
                continue
            if name is None and d.get("digest") == descriptor.digest and not ann.get(REF_NAME):
                continue
            kept.append(d)
        entry = Descriptor(
            descriptor.media_type,
            descriptor.digest,
            descriptor.size,
            platform=descriptor.platform,
            annotations={
                **({REF_NAME: name} if name else {}),
                **({IMAGE_NAME: full_name} if full_name else {}),
            },
            artifact_type=descriptor.artifact_type,
        ).to_json()
        kept.append(entry)
        _write_atomic(self.root / "index.json", _index_bytes(kept))


def _index_bytes(manifests: list[dict[str, Any]]) -> bytes:
    doc = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
    return (json.dumps(doc, indent=2) + "\n").encode()


def _write_atomic(path: Path, data: bytes) -> None:
    replace_file(path, data, mode=PRIVATE)
