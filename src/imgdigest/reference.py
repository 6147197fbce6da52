"""Image references: the ``[registry/]repository[:tag][@digest]`` strings users type.

Every command starts from a reference, and tools disagree in subtle ways about what
``ubuntu`` or ``localhost:5000/app`` mean. This module follows distribution/reference
(the grammar Docker, containerd and registries share) exactly, including its error
messages, so a reference means here what it means to ``docker pull``.

Grammar::

    reference         := name [ ":" tag ] [ "@" digest ]
    name              := [ domain "/" ] remote-name
    domain            := host [ ":" port-number ]
    host              := domain-name | "[" ipv6-address "]"
    domain-name       := domain-component ( "." domain-component )*
    domain-component  := /[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]/
    ipv6-address      := /[a-fA-F0-9:]+/           ; no zones, no embedded IPv4
    port-number       := /[0-9]+/                  ; not range-checked
    remote-name       := path-component ( "/" path-component )*
    path-component    := alpha-numeric ( separator alpha-numeric )*
    alpha-numeric     := /[a-z0-9]+/
    separator         := /[_.]|__|[-]+/
    tag               := /[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}/
    digest            := algorithm ":" hex         ; checked fully by imgdigest.digest
    algorithm         := /[A-Za-z][A-Za-z0-9]*/ ( /[-_+.]/ /[A-Za-z][A-Za-z0-9]*/ )*
    hex               := /[0-9a-fA-F]{32,}/
    identifier        := /[a-f0-9]{64}/            ; an image ID, not a name

The remote name (``path``) is limited to 255 characters; the domain does not count.

Two readings of a string exist, and both are needed:

* :func:`parse` reads the grammar literally. Any first component that fits the host
  grammar and is followed by ``/`` is the domain (``library/ubuntu`` has domain
  ``library``), and a string without ``/`` has no domain at all.
* :func:`parse_normalized` reads it the way Docker does: the first component is a
  domain only if it contains ``.`` or ``:``, is ``localhost``, or has an uppercase
  letter; otherwise the domain is ``docker.io`` and single names get ``library/``.
  ``index.docker.io`` becomes ``docker.io``.

:func:`normalize` is what the command line resolves: the Docker reading plus the
``latest`` tag when neither tag nor digest is given. Unlike :func:`parse_docker_ref`
it keeps ``name:tag@digest`` intact, because the tag documents what a pin was taken
from.

Errors are :class:`ReferenceSyntaxError` (an ``InvalidReferenceError``): ``str()`` is
distribution's message, ``reference`` the input and ``reason`` a short explanation.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from imgdigest.digest import Digest
from imgdigest.errors import InvalidDigestError, InvalidReferenceError, UsageError
from imgdigest.lazyre import lazy_patterns

__all__ = [
    "ANCHORED_DIGEST_RE",
    "ANCHORED_DOMAIN_RE",
    "ANCHORED_IDENTIFIER_RE",
    "ANCHORED_NAME_RE",
    "ANCHORED_TAG_RE",
    "DEFAULT_DOMAIN",
    "DEFAULT_TAG",
    "DOCKER_HUB_REGISTRY",
    "ERR_DIGEST_INVALID_FORMAT",
    "ERR_NAME_CONTAINS_UPPERCASE",
    "ERR_NAME_EMPTY",
    "ERR_NAME_NOT_CANONICAL",
    "ERR_NAME_TOO_LONG",
    "ERR_REFERENCE_INVALID_FORMAT",
    "ERR_TAG_INVALID_FORMAT",
    "LEGACY_DEFAULT_DOMAIN",
    "NAME_TOTAL_LENGTH_MAX",
    "REFERENCE_RE",
    "Reference",
    "ReferenceSyntaxError",
    "familiar_match",
    "normalize",
    "parse",
    "parse_any",
    "parse_docker_ref",
    "parse_named",
    "parse_normalized",
    "pin_text",
    "sort_references",
    "split_docker_domain",
    "with_name",
]

NAME_TOTAL_LENGTH_MAX = 255

ERR_REFERENCE_INVALID_FORMAT = "invalid reference format"
ERR_TAG_INVALID_FORMAT = "invalid tag format"
ERR_DIGEST_INVALID_FORMAT = "invalid digest format"
ERR_NAME_CONTAINS_UPPERCASE = "repository name must be lowercase"
ERR_NAME_EMPTY = "repository name must have at least one component"
ERR_NAME_TOO_LONG = f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
ERR_NAME_NOT_CANONICAL = "repository name must be canonical"

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
DOCKER_HUB_REGISTRY = "registry-1.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
LOCALHOST = "localhost"


# Regular expressions, built from pieces named after the grammar above. They are
# meant for ``fullmatch``: Python's ``$`` would accept a trailing newline.


def _optional(*parts: str) -> str:
    return "(?:" + "".join(parts) + ")?"


def _any_times(*parts: str) -> str:
    return "(?:" + "".join(parts) + ")*"


def _capture(*parts: str) -> str:
    return "(" + "".join(parts) + ")"


_ALPHA_NUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = _ALPHA_NUMERIC + _any_times(_SEPARATOR, _ALPHA_NUMERIC)
_REMOTE_NAME = _PATH_COMPONENT + _any_times("/", _PATH_COMPONENT)
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = _DOMAIN_COMPONENT + _any_times(r"\.", _DOMAIN_COMPONENT)
_IPV6_ADDRESS = r"\[(?:[a-fA-F0-9:]+)\]"
_HOST = f"(?:{_DOMAIN_NAME}|{_IPV6_ADDRESS})"
_PORT = _optional(r":[0-9]+")
_DOMAIN = _HOST + _PORT
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST_ALGORITHM_COMPONENT = r"[A-Za-z][A-Za-z0-9]*"
_DIGEST = (
    _DIGEST_ALGORITHM_COMPONENT
    + _any_times(r"[-_+.]", _DIGEST_ALGORITHM_COMPONENT)
    + r":[0-9a-fA-F]{32,}"
)
_IDENTIFIER = r"[a-f0-9]{64}"
_NAME = _optional(_DOMAIN, "/") + _REMOTE_NAME

#: The grammar's expressions by name, compiled on first use (``__getattr__``): together
#: they take 2 ms to compile, which a command that parses no reference need not spend.
PATTERNS: dict[str, str] = {
    # a registry host with optional port
    "ANCHORED_DOMAIN_RE": _DOMAIN,
    # a repository name; groups: domain (or None), remote name
    "ANCHORED_NAME_RE": _optional(_capture(_DOMAIN), "/") + _capture(_REMOTE_NAME),
    # a full reference; groups: name, tag (or None), digest (or None)
    "REFERENCE_RE": (
        _capture(_NAME) + _optional(":", _capture(_TAG)) + _optional("@", _capture(_DIGEST))
    ),
    "ANCHORED_TAG_RE": _TAG,
    # the generic digest shape; per-algorithm length is checked by imgdigest.digest
    "ANCHORED_DIGEST_RE": _DIGEST,
    "ANCHORED_IDENTIFIER_RE": _IDENTIFIER,
    "_ANCHORED_REMOTE_NAME_RE": _REMOTE_NAME,
    "_TAG_RE": r"[\w][\w.-]{0,127}",
    "_COMPONENT_RE": r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*",
    "_DIGEST_SHAPE_RE": r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}",
}

if TYPE_CHECKING:
    ANCHORED_DOMAIN_RE: re.Pattern[str]
    ANCHORED_NAME_RE: re.Pattern[str]
    REFERENCE_RE: re.Pattern[str]
    ANCHORED_TAG_RE: re.Pattern[str]
    ANCHORED_DIGEST_RE: re.Pattern[str]
    ANCHORED_IDENTIFIER_RE: re.Pattern[str]
    _ANCHORED_REMOTE_NAME_RE: re.Pattern[str]


# ``ANCHORED_NAME_RE`` and the others, compiled once on first use.
__getattr__, _re = lazy_patterns(globals(), PATTERNS)


class ReferenceSyntaxError(InvalidReferenceError):
    """A reference that does not follow the grammar.

    ``str()`` is distribution/reference's message (tests and users compare it with
    other tools); ``reference`` is the input and ``reason`` a short explanation, so a
    caller can say ``f"{exc.reference}: {exc.reason}"``.
    """

    def __init__(self, message: str, reference: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reference = reference
        self.reason = reason or message


def _error(message: str, reference: str, reason: str | None = None) -> ReferenceSyntaxError:
    return ReferenceSyntaxError(message, reference, reason)


@dataclass(frozen=True)
class Reference:
    """A parsed reference; ``str()`` gives it back in full.

    ``domain`` is ``""`` when the reference did not name one (only possible with
    :func:`parse`). A bare digest (from :func:`parse_any`) has empty domain and path.
    ``digest`` is kept as written; use ``Digest.parse(ref.digest)`` to hash with it.
    Instances are validated on construction, so ``with_*`` methods cannot produce
    something that would not parse.
    """

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    def __post_init__(self) -> None:
        written = _join(self.domain, self.path, self.tag, self.digest)
        if not self.path:
            if self.domain or self.tag is not None or self.digest is None:
                raise _error(ERR_REFERENCE_INVALID_FORMAT, written, "no repository name")
        else:
            if self.domain and _re("ANCHORED_DOMAIN_RE").fullmatch(self.domain) is None:
                raise _error(ERR_REFERENCE_INVALID_FORMAT, written, "invalid registry host")
            if _re("_ANCHORED_REMOTE_NAME_RE").fullmatch(self.path) is None:
                raise _error(ERR_REFERENCE_INVALID_FORMAT, written, "invalid repository name")
            if len(self.path) > NAME_TOTAL_LENGTH_MAX:
                raise _error(ERR_NAME_TOO_LONG, written)
            if self.tag is not None and _re("ANCHORED_TAG_RE").fullmatch(self.tag) is None:
                raise _error(ERR_TAG_INVALID_FORMAT, written)
        if self.digest is not None and _re("ANCHORED_DIGEST_RE").fullmatch(self.digest) is None:
            raise _error(ERR_DIGEST_INVALID_FORMAT, written)

    @property
    def digest_only(self) -> bool:
        """True for a bare digest, which names content but no repository."""
        return not self.path

    @property
    def name(self) -> str:
        """Domain and path, without tag or digest (``""`` for a bare digest)."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    @property
    def repository(self) -> str:
        """The path within the registry, as the distribution API addresses it."""
        return self.path

    @property
    def registry(self) -> str:
        """The host to contact: Docker Hub's API lives at ``registry-1.docker.io``."""
        return DOCKER_HUB_REGISTRY if self.domain == DEFAULT_DOMAIN else self.domain

    @property
    def familiar_name(self) -> str:
        """The short name Docker shows: ``ubuntu`` for ``docker.io/library/ubuntu``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        rest = self.path.removeprefix(OFFICIAL_REPO_PREFIX)
        return rest if rest != self.path and "/" not in rest else self.path

    @property
    def familiar_string(self) -> str:
        """The short form with tag and digest, e.g. ``ubuntu:22.04``."""
        if self.digest_only:
            return str(self)
        return _join("", self.familiar_name, self.tag, self.digest)

    def __str__(self) -> str:
        return _join(self.domain, self.path, self.tag, self.digest)

    def with_tag(self, tag: str) -> Reference:
        """The same reference with ``tag`` (replacing any tag; a digest is kept)."""
        return dataclasses.replace(self, tag=tag)

    def with_digest(self, digest: str | Digest) -> Reference:
        """The same reference pinned to ``digest`` (a tag is kept)."""
        return dataclasses.replace(self, digest=str(digest))

    def without_tag(self) -> Reference:
        return dataclasses.replace(self, tag=None)

    def without_digest(self) -> Reference:
        return dataclasses.replace(self, digest=None)


def _join(domain: str, path: str, tag: str | None, digest: str | None) -> str:
    text = f"{domain}/{path}" if domain else path
    if tag is not None:
        text += f":{tag}"
    if digest is not None:
        text = f"{text}@{digest}" if text else digest
    return text


def _split_name(name: str) -> tuple[str, str]:
    match = _re("ANCHORED_NAME_RE").fullmatch(name)
    if match is None:
        return "", name
    return match.group(1) or "", match.group(2)


#: How a user names an image that is not in a registry (see ``imgdigest.sources``).
LOCAL_PREFIXES = ("oci:", "docker-archive:")


def is_local(text: str) -> bool:
    """``oci:DIR...`` or ``docker-archive:FILE...``: an image on disk, not a reference."""
    return text.startswith(LOCAL_PREFIXES)


def api_host(domain: str) -> str:
    """The host that serves a registry name's API (Docker Hub's is not ``docker.io``)."""
    return DOCKER_HUB_REGISTRY if domain in (DEFAULT_DOMAIN, LEGACY_DEFAULT_DOMAIN) else domain


def parse(s: str) -> Reference:
    """Parse ``s`` by the grammar alone, without Docker Hub defaults."""
    if not s:
        raise _error(ERR_NAME_EMPTY, s, "empty reference")
    match = _re("REFERENCE_RE").fullmatch(s)
    if match is None:
        lowered = s.lower()
        if lowered != s and _re("REFERENCE_RE").fullmatch(lowered) is not None:
            raise _error(ERR_NAME_CONTAINS_UPPERCASE, s)
        raise _error(ERR_REFERENCE_INVALID_FORMAT, s)
    name, tag, digest = match.groups()
    domain, path = _split_name(name)
    if len(path) > NAME_TOTAL_LENGTH_MAX:
        raise _error(ERR_NAME_TOO_LONG, s)
    if digest is not None:
        try:
            Digest.parse(digest)
        except InvalidDigestError as exc:
            raise _error(str(exc), s) from exc
    return Reference(domain, path, tag, digest)


def with_name(name: str) -> Reference:
    """A reference to the repository ``name`` (no tag or digest allowed)."""
    match = _re("ANCHORED_NAME_RE").fullmatch(name)
    if match is None:
        raise _error(ERR_REFERENCE_INVALID_FORMAT, name)
    domain, path = match.group(1) or "", match.group(2)
    if len(path) > NAME_TOTAL_LENGTH_MAX:
        raise _error(ERR_NAME_TOO_LONG, name)
    return Reference(domain, path)


def split_docker_domain(name: str) -> tuple[str, str]:
    """Split ``name`` (possibly with ``:tag``/``@digest``) into Docker's domain and rest.

    Without a recognisable domain the rest is a Docker Hub path, so ``ubuntu`` gives
    ``("docker.io", "library/ubuntu")``. The input is not validated.
    """
    first, slash, rest = name.partition("/")
    if not slash:
        return DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name
    if first == LEGACY_DEFAULT_DOMAIN:
        domain, remainder = DEFAULT_DOMAIN, rest
    elif first == LOCALHOST or any(c in first for c in ".:") or first.lower() != first:
        # A host name, an address, a port, or uppercase (never valid in a path).
        domain, remainder = first, rest
    else:
        domain, remainder = DEFAULT_DOMAIN, name
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def parse_normalized(s: str) -> Reference:
    """Parse ``s`` the way Docker reads a name: ``ubuntu`` is ``docker.io/library/ubuntu``."""
    if _re("ANCHORED_IDENTIFIER_RE").fullmatch(s) is not None:
        raise _error(
            f"invalid repository name ({s}), cannot specify 64-byte hexadecimal strings",
            s,
            "a 64-character hex string is an image ID, not a repository name",
        )
    domain, remainder = split_docker_domain(s)
    remote = remainder.partition(":")[0]
    if remote.lower() != remote:
        raise _error(
            f"invalid reference format: repository name ({remote}) must be lowercase",
            s,
            ERR_NAME_CONTAINS_UPPERCASE,
        )
    ref = parse(f"{domain}/{remainder}")
    if ref.digest_only:  # pragma: no cover - the grammar requires a name here
        raise _error(f"reference {ref} has no name", s)
    return ref


def parse_named(s: str) -> Reference:
    """Parse ``s``, which must already be fully qualified (``docker.io/library/x``)."""
    ref = parse_normalized(s)
    if str(ref) != s:
        raise _error(ERR_NAME_NOT_CANONICAL, s)
    return ref


def parse_any(s: str) -> Reference:
    """Parse a name, a full digest, or a bare 64-hex image ID (taken as sha256)."""
    if _re("ANCHORED_IDENTIFIER_RE").fullmatch(s) is not None:
        return Reference("", "", digest=f"sha256:{s}")
    try:
        Digest.parse(s)
    except InvalidDigestError:
        return parse_normalized(s)
    return Reference("", "", digest=s)


def parse_docker_ref(s: str) -> Reference:
    """Docker's pull semantics: add ``latest`` if untagged, drop the tag if digested."""
    ref = parse_normalized(s)
    if ref.digest is not None:
        return ref.without_tag()
    if ref.tag is None:
        return ref.with_tag(DEFAULT_TAG)
    return ref


def normalize(s: str) -> Reference:
    """What the command line resolves: Docker's reading, ``latest`` if nothing pins it.

    ``name:tag@digest`` keeps both parts: the digest decides what is fetched and the
    tag records where it came from.
    """
    try:
        ref = parse_normalized(s)
    except ReferenceSyntaxError as exc:
        if str(exc) != ERR_REFERENCE_INVALID_FORMAT:
            raise
        detail = diagnose(s)
        raise _error(f"{ERR_REFERENCE_INVALID_FORMAT}: {detail}", s, detail) from None
    if ref.tag is None and ref.digest is None:
        return ref.with_tag(DEFAULT_TAG)
    return ref


def pin_text(text: str, digest: str, keep_tag: bool = True) -> str:
    """Attach ``digest`` to a reference as it was written, keeping its spelling.

    The text is not normalized (``nginx:1.25`` stays ``nginx:1.25``, not
    ``docker.io/library/nginx:1.25``), so a pinned file reads as it did; a digest already
    there is replaced, and without ``keep_tag`` the tag is dropped.
    """
    base = text.split("@", 1)[0]
    if not keep_tag:
        slash = base.rfind("/")
        colon = base.rfind(":")
        if colon > slash:
            base = base[:colon]
    return f"{base}@{digest}"


def diagnose(s: str) -> str:
    """Say which part of a reference breaks the grammar; the grammar itself only says no.

    Used to make "invalid reference format" actionable; it never accepts anything the
    grammar rejects, it only explains.
    """
    if not s:
        return "empty reference"
    if any(c.isspace() for c in s):
        return "contains whitespace"
    if s.count("@") > 1:
        return "more than one '@'"
    name, _, digest = s.partition("@")
    if "@" in s and not _re("_DIGEST_SHAPE_RE").fullmatch(digest):
        return f"digest {digest!r} is not ALGORITHM:HEX with at least 32 characters"
    last = name.rfind("/")
    colon = name.rfind(":")
    if colon > last:
        tag = name[colon + 1 :]
        name = name[:colon]
        if not tag:
            return "empty tag after ':'"
        if len(tag) > 128:
            return f"tag is {len(tag)} characters long; the limit is 128"
        if not _re("_TAG_RE").fullmatch(tag):
            return (
                f"tag {tag!r} may hold only letters, digits, '_', '.' and '-', "
                "and must not start with '.' or '-'"
            )
    parts = name.split("/")
    if not name:
        return "empty repository name"
    path_parts = parts[1:] if len(parts) > 1 and ("." in parts[0] or ":" in parts[0]) else parts
    if len(path_parts) < len(parts) and ":" in parts[0]:
        port = parts[0].rsplit(":", 1)[1]
        if not port.isdigit():
            return f"registry port {port!r} is not a number"
    for part in path_parts:
        if not part:
            return "empty path component (a leading, trailing or doubled '/')"
        if part.lower() != part:
            return f"path component {part!r} must be lowercase"
        if not _re("_COMPONENT_RE").fullmatch(part):
            return (
                f"path component {part!r} may hold only lowercase letters, digits and single "
                "separators ('.', '_', '__', '-') between them"
            )
    return "does not match the reference grammar"


def _glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Translate a Go ``path.Match`` pattern; ``*`` and ``?`` never match ``/``."""
    out: list[str] = []
    i, n = 0, len(pattern)

    def bad() -> UsageError:
        return UsageError(f"syntax error in pattern: {pattern}")

    def class_char(j: int) -> tuple[str, int]:
        if j >= n or pattern[j] in "-]":
            raise bad()
        if pattern[j] == "\\":
            j += 1
            if j >= n:
                raise bad()
        if j + 1 >= n:  # a class must still be closed after this character
            raise bad()
        return pattern[j], j + 1

    while i < n:
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "\\":
            if i + 1 >= n:
                raise bad()
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif c == "[":
            i += 1
            negated = i < n and pattern[i] == "^"
            if negated:
                i += 1
            ranges: list[str] = []
            count = 0
            while True:
                if i < n and pattern[i] == "]" and count:
                    i += 1
                    break
                lo, i = class_char(i)
                hi = lo
                if pattern[i] == "-":
                    hi, i = class_char(i + 1)
                count += 1
                if lo <= hi:  # an inverted range is legal and matches nothing
                    ranges.append(f"{re.escape(lo)}-{re.escape(hi)}")
            if ranges:
                out.append(("[^" if negated else "[") + "".join(ranges) + "]")
            else:
                out.append("." if negated else "(?!)")
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out), re.DOTALL)


def familiar_match(pattern: str, ref: Reference | str) -> bool:
    """Whether a glob matches the reference's familiar form (as ``docker images`` filters).

    The familiar string (with tag/digest) is tried first, then the familiar name, so a
    pattern without a tag matches every tag of a repository. A malformed pattern raises
    :class:`UsageError`.
    """
    compiled = _glob_to_regex(pattern)
    if isinstance(ref, str):
        ref = parse_any(ref)
    if compiled.fullmatch(ref.familiar_string):
        return True
    return not ref.digest_only and compiled.fullmatch(ref.familiar_name) is not None


def _rank(ref: Reference) -> int:
    if ref.digest_only:
        return 5
    if ref.tag is not None:
        return 1 if ref.digest is not None else 2
    return 3 if ref.digest is not None else 4


def sort_references(references: Iterable[str]) -> list[str]:
    """Order references most specific first, as containerd lists them.

    Named references come first (tag+digest, then tag, then digest, then bare name),
    then bare digests, each group alphabetically; strings that do not parse come last.
    """
    parsed: list[Reference] = []
    bad: list[str] = []
    for text in references:
        try:
            parsed.append(parse_any(text))
        except InvalidReferenceError:
            bad.append(text)
    parsed.sort(key=lambda r: (_rank(r), str(r)))
    return [str(r) for r in parsed] + sorted(bad)
