"""Content digests: ``algorithm:encoded`` identifiers of bytes, as used by OCI registries.

A digest names content by its hash, so everything that pins or verifies an image goes
through this module. Parsing follows opencontainers/go-digest, including the order in
which its checks fire, because that order decides which error a user sees::

    digest     := algorithm ":" encoded
    algorithm  := component (separator component)*
    component  := /[a-z0-9]+/
    separator  := /[+._-]/
    encoded    := /[a-zA-Z0-9=_-]+/          ; generic grammar, any algorithm

1. no ``:`` (or nothing before or after it)           -> ``invalid checksum digest format``
2. algorithm not supported: the whole string fits the
   generic grammar -> ``unsupported digest algorithm``, else -> ``invalid checksum digest format``
3. encoded length differs from the algorithm's        -> ``invalid checksum digest length``
4. encoded is not lowercase hex                       -> ``invalid checksum digest format``

Length is checked before the character set, so ``sha256:XYZ`` reports a length error
while 64 uppercase hex characters report a format error.

Supported algorithms are the ones the OCI image spec registers and ``hashlib`` always
provides: sha256 (canonical), sha384 and sha512. go-digest registers sha256 and sha512 by
default and sha384 on request; accepting all three is the superset a registry client
meets in practice. blake3 is not in the standard library and is reported as unsupported.

A :class:`Digest` is validated on construction, so holding one means ``hasher()`` works.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from imgdigest.errors import InvalidDigestError, NotFoundError, VerificationError

if TYPE_CHECKING:
    from hashlib import _Hash

__all__ = [
    "ALGORITHMS",
    "CANONICAL_ALGORITHM",
    "ERR_AMBIGUOUS",
    "ERR_INVALID_FORMAT",
    "ERR_INVALID_LENGTH",
    "ERR_NOT_FOUND",
    "ERR_UNSUPPORTED",
    "Digest",
    "Verifier",
    "check_algorithm",
    "is_algorithm_name",
    "is_valid",
    "lookup",
    "short_codes",
    "verify",
]

ERR_INVALID_FORMAT = "invalid checksum digest format"
ERR_INVALID_LENGTH = "invalid checksum digest length"
ERR_UNSUPPORTED = "unsupported digest algorithm"
ERR_NOT_FOUND = "digest not found"
ERR_AMBIGUOUS = "ambiguous digest string"

CANONICAL_ALGORITHM = "sha256"

# Hash size in bytes; the encoded (hex) form is twice as long.
ALGORITHMS: dict[str, int] = {"sha256": 32, "sha384": 48, "sha512": 64}

_ALGORITHM_COMPONENT = r"[a-z0-9]+"
_ALGORITHM_SEPARATOR = r"[+._-]"
_ALGORITHM = rf"{_ALGORITHM_COMPONENT}(?:{_ALGORITHM_SEPARATOR}{_ALGORITHM_COMPONENT})*"
_ENCODED = r"[a-zA-Z0-9=_-]+"
_HEX = re.compile(r"[a-f0-9]+")

ALGORITHM_NAME_RE = re.compile(_ALGORITHM)
"""Grammar an algorithm identifier must follow (match with ``fullmatch``)."""

DIGEST_RE = re.compile(rf"{_ALGORITHM}:{_ENCODED}")
"""Generic digest grammar, independent of the algorithm (match with ``fullmatch``)."""


def _fail(message: str) -> InvalidDigestError:
    return InvalidDigestError(message)


def is_algorithm_name(name: str) -> bool:
    """Whether ``name`` is a well-formed algorithm identifier (supported or not)."""
    return ALGORITHM_NAME_RE.fullmatch(name) is not None


def check_algorithm(name: str) -> str:
    """Return ``name`` if this toolkit can hash with it, else raise ``unsupported``.

    For choosing an algorithm from user input (a command-line flag, a config file).
    """
    if name not in ALGORITHMS:
        raise _fail(ERR_UNSUPPORTED)
    return name


@dataclass(frozen=True, order=True)
class Digest:
    """A validated ``algorithm:encoded`` digest; ``str()`` gives the canonical form."""

    algorithm: str
    encoded: str

    def __post_init__(self) -> None:
        size = ALGORITHMS.get(self.algorithm)
        if size is None:
            if not self.algorithm or not self.encoded:
                raise _fail(ERR_INVALID_FORMAT)
            if DIGEST_RE.fullmatch(f"{self.algorithm}:{self.encoded}") is None:
                raise _fail(ERR_INVALID_FORMAT)
            raise _fail(ERR_UNSUPPORTED)
        # Lengths are compared in bytes, as go-digest does, so that non-ASCII input
        # cannot pass the length check with fewer characters.
        if len(self.encoded.encode("utf-8")) != size * 2:
            raise _fail(ERR_INVALID_LENGTH)
        if _HEX.fullmatch(self.encoded) is None:
            raise _fail(ERR_INVALID_FORMAT)

    @classmethod
    def parse(cls, value: str) -> Digest:
        """Parse and validate ``value``; raise :class:`InvalidDigestError` if it is not one."""
        algorithm, sep, encoded = value.partition(":")
        if not sep or not algorithm or not encoded:
            raise _fail(ERR_INVALID_FORMAT)
        return cls(algorithm, encoded)

    @classmethod
    def of(cls, data: bytes, algorithm: str = CANONICAL_ALGORITHM) -> Digest:
        """Digest of ``data`` with ``algorithm``."""
        import hashlib  # here: loading OpenSSL is 2.5 ms of a start-up that hashes nothing

        return cls(algorithm, hashlib.new(check_algorithm(algorithm), data).hexdigest())

    def hasher(self) -> _Hash:
        """A fresh ``hashlib`` object for this digest's algorithm."""
        import hashlib

        return hashlib.new(self.algorithm)

    def verifier(self) -> Verifier:
        """A streaming checker: feed it the content, then ask whether it matched."""
        return Verifier(self)

    def short(self, n: int = 12) -> str:
        """The first ``n`` hex characters, the usual short form for display."""
        return self.encoded[:n]

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.encoded}"


def is_valid(value: str) -> bool:
    """Whether ``value`` parses as a supported, well-formed digest."""
    try:
        Digest.parse(value)
    except InvalidDigestError:
        return False
    return True


@dataclass
class Verifier:
    """Hashes content in chunks and compares it with the expected digest.

    Blobs can be large; streaming them through a verifier avoids holding them in
    memory just to check them.
    """

    expected: Digest
    _hash: _Hash = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._hash = self.expected.hasher()

    def update(self, chunk: bytes) -> None:
        """Feed the next chunk of content."""
        self._hash.update(chunk)

    @property
    def actual(self) -> Digest:
        """Digest of the content fed so far."""
        return Digest(self.expected.algorithm, self._hash.hexdigest())

    def verified(self) -> bool:
        """Whether the content fed so far hashes to the expected digest."""
        return self.actual == self.expected


def verify(data: bytes, expected: Digest | str, what: str) -> None:
    """Raise :class:`VerificationError` unless ``data`` hashes to ``expected``.

    ``what`` names the content in the message (for example a manifest reference),
    because a bare mismatch is useless to someone reading a log.
    """
    want = expected if isinstance(expected, Digest) else Digest.parse(expected)
    got = Digest.of(data, want.algorithm)
    if got != want:
        raise VerificationError(f"{what}: content does not match digest {want}; got {got}")


def _as_digests(digests: Iterable[Digest | str]) -> list[Digest]:
    return sorted({d if isinstance(d, Digest) else Digest.parse(d) for d in digests})


def lookup(digests: Iterable[Digest | str], query: str) -> Digest:
    """Find the one digest that ``query`` abbreviates.

    ``query`` is a hex prefix, optionally with ``algorithm:`` in front (the short IDs
    people copy from listings). A prefix shared by several digests is ambiguous rather
    than resolved to an arbitrary one.
    """
    algorithm, sep, prefix = query.rpartition(":")
    if not sep:
        algorithm = ""
    matches = [
        d
        for d in _as_digests(digests)
        if (not algorithm or d.algorithm == algorithm) and d.encoded.startswith(prefix)
    ]
    exact = [d for d in matches if d.encoded == prefix]
    if len(exact) == 1:
        return exact[0]
    if not matches:
        raise NotFoundError(f"{query}: {ERR_NOT_FOUND}")
    if len(matches) > 1:
        raise InvalidDigestError(f"{query}: {ERR_AMBIGUOUS}")
    return matches[0]


def short_codes(digests: Iterable[Digest | str], min_length: int = 2) -> dict[Digest, str]:
    """The shortest unambiguous hex prefix (at least ``min_length`` long) of each digest."""
    items = sorted(_as_digests(digests), key=lambda d: d.encoded)
    codes: dict[Digest, str] = {}
    # In sorted order the longest prefix a digest shares with any other is the one it
    # shares with a neighbour, so one pass over adjacent pairs is enough.
    shared = [0] * len(items)
    for i in range(len(items) - 1):
        common = _common_prefix(items[i].encoded, items[i + 1].encoded)
        shared[i] = max(shared[i], common)
        shared[i + 1] = max(shared[i + 1], common)
    for d, common in zip(items, shared, strict=True):
        length = max(min_length, common + 1)
        codes[d] = d.encoded[:length] if length < len(d.encoded) else str(d)
    return codes


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
