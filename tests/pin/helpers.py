"""Shared bits of the pin tests: fake digests and an offline lock built from them."""

from __future__ import annotations

import hashlib
import re

from imgdigest.lock import Lock, LockEntry
from imgdigest.reference import normalize

DIGEST_RE = re.compile(r"@sha256:[0-9a-f]{64}")


def fake_digest(text: str) -> str:
    """A well-formed digest that is different for each text."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


D = fake_digest("the one digest")


def lock_for(*refs: str, digest: str = D) -> Lock:
    """A lock answering each ``ref`` (normalized) with ``digest``."""
    lock = Lock()
    for ref in refs:
        lock.add(LockEntry(str(normalize(ref).without_digest()), digest))
    return lock


def without_digests(text: str) -> str:
    """The text with every ``@sha256:...`` removed: what pinning may have added."""
    return DIGEST_RE.sub("", text)
