"""Where images live: registries, OCI layout directories and ``docker save`` archives.

``open_source`` turns what a user typed into an :class:`ImageSource`:

* ``oci:DIR[:TAG]`` or ``oci:DIR@DIGEST`` — an OCI image layout directory;
* ``docker-archive:FILE[:REF]`` — a ``docker save`` tarball (``REF`` is a repo tag,
  ``@N`` for the N-th image, or ``@DIGEST``);
* anything else — a registry reference, normalized as ``docker pull`` would.

As skopeo does, the path ends at the first ``:`` after the prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from imgdigest import reference as references
from imgdigest.errors import NotFoundError, UsageError
from imgdigest.reference import is_local
from imgdigest.resolver import AsyncResolver
from imgdigest.sources.archive import ArchiveSource
from imgdigest.sources.base import ImageSource, sync_iter
from imgdigest.sources.layout import DirFiles, LayoutSource, LayoutWriter
from imgdigest.sources.registry import RegistrySource


@dataclass(frozen=True)
class LocalRef:
    """``oci:DIR[:TAG]`` or ``docker-archive:FILE[:REF]``, split."""

    transport: str  # "oci" or "docker-archive"
    path: Path
    selector: str | None  # tag / REF, "@DIGEST", "@N", or None

    def __str__(self) -> str:
        sel = self.selector or ""
        sep = "" if not sel or sel.startswith("@") else ":"
        return f"{self.transport}:{self.path}{sep}{sel}"


def parse_local(text: str) -> LocalRef:
    """Split a local reference; the message names it when it is malformed."""
    transport, _, rest = text.partition(":")
    if transport not in ("oci", "docker-archive"):
        raise UsageError(f"{text}: not a local image reference (oci:DIR or docker-archive:FILE)")
    selector: str | None = None
    at = rest.find("@")
    colon = rest.find(":")
    if at > 0 and (colon < 0 or at < colon):
        rest, selector = rest[:at], rest[at:]
    elif colon >= 0:
        rest, selector = rest[:colon], rest[colon + 1 :] or None
    if not rest:
        raise UsageError(f"{text}: no path given ({transport}:PATH[:TAG])")
    return LocalRef(transport, Path(rest), selector)


def open_local(local: LocalRef, given: str = "") -> LayoutSource:
    if local.transport == "oci":
        if not local.path.exists():
            raise NotFoundError(f"{local.path}: no such OCI layout directory")
        return LayoutSource(DirFiles(local.path), local.selector, given or str(local))
    return ArchiveSource(local.path, local.selector, given or str(local))


def open_source(text: str, resolver: AsyncResolver) -> ImageSource:
    """The source ``text`` names (local paths are checked now; registries on first use)."""
    if is_local(text):
        return open_local(parse_local(text), text)
    return RegistrySource(resolver, references.normalize(text), text)


__all__ = [
    "ArchiveSource",
    "ImageSource",
    "LayoutSource",
    "LayoutWriter",
    "LocalRef",
    "RegistrySource",
    "is_local",
    "open_local",
    "open_source",
    "parse_local",
    "sync_iter",
]
