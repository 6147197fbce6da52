"""What a container runtime's ``imageID`` says about the content a container runs.

Each runtime writes it its own way, and only some forms name a manifest digest:

* containerd: ``docker.io/library/nginx@sha256:…`` - the repository digest, the digest
  the image was pulled by (the index, for a multi-platform tag);
* Docker (cri-dockerd): ``docker-pullable://nginx@sha256:…`` - the same; but
  ``docker://sha256:…`` for an image that has no repository digest (built or loaded
  locally), which is the image ID;
* CRI-O: a repository digest, or often a bare ``sha256:…`` image ID.

An image ID is the digest of the image's *config*, not of a manifest: it cannot be
compared with a tag's or a pin's digest, so such a container's running digest is
reported as unknown rather than guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from imgdigest import digest as digests

#: ``manifest``: a repository digest; ``image-id``: a config digest; ``none``: the
#: container has not got an image yet; ``unreadable``: a form no runtime is known to write.
IdKind = Literal["manifest", "image-id", "none", "unreadable"]

_SCHEMES = ("docker-pullable://", "docker://", "containerd://", "cri-o://")
_BARE_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class RuntimeImage:
    """One ``imageID`` read: its kind, the digest it holds, and the repository it names."""

    kind: IdKind
    digest: str | None = None
    name: str | None = None  #: the repository of a repository digest, as the runtime wrote it

    @property
    def known(self) -> bool:
        """Whether this names a manifest digest that can be compared with a tag's or a pin's."""
        return self.kind == "manifest"


NONE = RuntimeImage("none")


@lru_cache(maxsize=1 << 16)  # replicas repeat one ID: one shared answer, not one per pod
def read_image_id(image_id: str | None) -> RuntimeImage:
    """The digest ``image_id`` names, in any runtime's form."""
    text = (image_id or "").strip()
    if not text:
        return NONE
    for scheme in _SCHEMES:
        if text.startswith(scheme):
            text = text[len(scheme) :]
            break
    if "@" in text:
        name, _, digest = text.rpartition("@")
        if name and digests.is_valid(digest):
            return RuntimeImage("manifest", digest, name)
        return RuntimeImage("unreadable")
    if digests.is_valid(text):
        return RuntimeImage("image-id", text)
    if _BARE_HEX.fullmatch(text):
        return RuntimeImage("image-id", f"sha256:{text}")
    return RuntimeImage("unreadable")
