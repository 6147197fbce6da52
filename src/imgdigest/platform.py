"""Platforms (``os/architecture[/variant]``) and choosing one from an image index.

A multi-platform image is an index of manifests, each labelled with an OCI platform
object. Picking the right one is not string equality: the same machine is spelled
``aarch64``, ``arm64`` or ``arm64/v8``; an ``arm/v7`` board can also run ``arm/v6`` and
``arm/v5`` images but not the other way round; an amd64 host runs 386 binaries; a
Windows host runs only images built for a compatible OS build. This module follows
containerd/platforms, whose rules Docker and containerd apply when they pull:

* :func:`parse` reads a specifier ``os[(version[+feature]...)][/arch[/variant]]``, or a
  bare OS or architecture (the other half comes from the host), and normalizes the
  spelling: ``x86_64`` -> ``amd64``, ``aarch64`` -> ``arm64``, ``armhf`` -> ``arm`` (v7),
  ``armel`` -> ``arm/v6``, ``i386`` -> ``386``, ``macos`` -> ``darwin``. Two components are
  always OS and architecture.
* :func:`normalize` makes platform objects comparable: arm without variant is ``v7``,
  ``arm64/v8`` and ``amd64/v1`` lose their (default) variant, features are sorted.
* Matchers answer "can this host run that image?" (``match``) and "which of two is
  better?" (``less``). :func:`only` accepts what the platform can run, most capable
  first; :func:`only_strict` accepts only the platform itself; :func:`only_os` any
  architecture of the same OS. :func:`best_match` applies one to an index.

Version and feature values in specifiers are percent-encoded where they contain
``%``, ``+``, ``(``, ``)`` or ``/``, so :func:`format_all` output always parses back.

The default host (:func:`default`) is Linux on this machine's architecture: container
images run on a Linux kernel, including under Docker Desktop on macOS and Windows.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import platform as _stdlib_platform
import re
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from imgdigest.errors import InvalidPlatformError

__all__ = [
    "ALL",
    "Matcher",
    "Platform",
    "any_of",
    "best_match",
    "cpu_variant_from_machine",
    "default",
    "format",
    "format_all",
    "new_matcher",
    "normalize",
    "normalize_arch",
    "only",
    "only_os",
    "only_strict",
    "ordered",
    "parse",
    "sort_by_preference",
    "windows_host_can_run",
]

_COMPONENT_RE = re.compile(r"[A-Za-z0-9_.-]+")
_OS_OPTION = r"[A-Za-z0-9_.%-]"
_OS_RE = re.compile(rf"([A-Za-z0-9_-]+)(?:\(({_OS_OPTION}*)((?:\+{_OS_OPTION}+)*)\))?")
_PERCENT_ENCODED_RE = re.compile(r"(?:[^%]|%[0-9A-Fa-f]{2})*")
_OS_OPTION_ESCAPES = {"%": "%25", "+": "%2B", "(": "%28", ")": "%29", "/": "%2F"}

# From Go's list of operating systems and architectures (go/build/syslist.go), the
# vocabulary the OCI image spec uses.
KNOWN_OS = frozenset(
    {
        "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js",
        "linux", "nacl", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos",
    }
)  # fmt: skip
KNOWN_ARCH = frozenset(
    {
        "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "loong64", "mips",
        "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc", "ppc64", "ppc64le",
        "riscv", "riscv64", "s390", "s390x", "sparc", "sparc64", "wasm",
    }
)  # fmt: skip

# Windows Server builds whose images later hosts keep running ("stable ABI"), ascending.
_WINDOWS_LTSC_ABI_BUILDS = (20348,)


@dataclass(frozen=True)
class Platform:
    """An OCI platform object; ``str()`` gives ``os/architecture[/variant]``."""

    os: str
    architecture: str
    variant: str = ""
    os_version: str = ""
    os_features: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.os_features, tuple):
            object.__setattr__(self, "os_features", tuple(self.os_features))

    @classmethod
    def from_oci(cls, obj: Mapping[str, Any]) -> Platform:
        """Read the ``platform`` object of an index entry or image config."""
        values: dict[str, Any] = {}
        for key in ("os", "architecture", "variant", "os.version"):
            value = obj.get(key, "")
            if not isinstance(value, str):
                raise InvalidPlatformError(
                    f"invalid platform {_q(obj)}: {_q(key)} must be a string"
                )
            values[key] = value
        features = obj.get("os.features") or []
        if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
            raise InvalidPlatformError(
                f'invalid platform {_q(obj)}: "os.features" must be a list of strings'
            )
        return cls(
            values["os"],
            values["architecture"],
            values["variant"],
            values["os.version"],
            tuple(features),
        )

    def to_oci(self) -> dict[str, Any]:
        """The OCI JSON form; empty optional fields are left out."""
        obj: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.os_version:
            obj["os.version"] = self.os_version
        if self.os_features:
            obj["os.features"] = list(self.os_features)
        if self.variant:
            obj["variant"] = self.variant
        return obj

    def __str__(self) -> str:
        return format(self)


def _q(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _invalid(spec: str, detail: str) -> InvalidPlatformError:
    return InvalidPlatformError(f"invalid platform {_q(spec)}: {detail}")


# Normalization.


def _normalize_os(os_name: str, host: Platform | None = None) -> str:
    if not os_name:
        return (host or default()).os
    os_name = os_name.lower()
    return "darwin" if os_name == "macos" else os_name


def _numbered(variant: str) -> int | None:
    """The number of a ``vN``/``N`` variant, or None."""
    digits = variant.removeprefix("v")
    return int(digits) if digits.isdigit() else None


def normalize_arch(architecture: str, variant: str) -> tuple[str, str]:
    """Canonical (architecture, variant) spelling, e.g. ``("x86_64", "")`` -> ``("amd64", "")``."""
    arch, variant = architecture.lower(), variant.lower()
    if arch == "i386":
        return "386", ""
    if arch in ("x86_64", "x86-64", "amd64"):
        level = _numbered(variant)
        if level is not None:
            variant = "" if level == 1 else f"v{level}"
        return "amd64", variant
    if arch in ("aarch64", "arm64"):
        match = re.fullmatch(r"v?(\d+)(?:\.0)?", variant)
        if match is not None:
            major = int(match.group(1))
            variant = "" if major == 8 else f"v{major}"
        return "arm64", variant
    if arch == "armhf":
        return "arm", "v7"
    if arch == "armel":
        return "arm", "v6"
    if arch == "arm":
        if variant == "":
            return "arm", "v7"
        level = _numbered(variant)
        return "arm", variant if level is None else f"v{level}"
    return arch, variant


def normalize(platform: Platform, host: Platform | None = None) -> Platform:
    """The canonical form matchers compare (an empty OS becomes the host's)."""
    arch, variant = normalize_arch(platform.architecture, platform.variant)
    return Platform(
        _normalize_os(platform.os, host),
        arch,
        variant,
        platform.os_version,
        tuple(sorted(set(platform.os_features))),
    )


# The host.


def cpu_variant_from_machine(machine: str) -> str:
    """ARM generation in a kernel machine name: ``armv7l`` -> ``"7"``, ``aarch64`` -> ``"8"``.

    Returns ``"unknown"`` for an ARM name outside v3..v8; raises for non-ARM names.
    """
    name = machine.lower()
    if name == "aarch64":
        return "8"
    if len(name) < 5 or not name.startswith("armv"):
        raise InvalidPlatformError(f"not an ARM machine name: {_q(machine)}")
    return name[4] if name[4] in "345678" else "unknown"


@functools.cache
def default() -> Platform:
    """This host as a container platform: Linux on the machine's architecture."""
    machine = _stdlib_platform.machine().lower()
    if machine.startswith("armv"):
        generation = cpu_variant_from_machine(machine)
        return Platform("linux", "arm", "" if generation == "unknown" else f"v{generation}")
    arch = {"i486": "386", "i586": "386", "i686": "386", "loongarch64": "loong64"}.get(
        machine, machine
    )
    arch, variant = normalize_arch(arch, "")
    return Platform("linux", arch, "" if arch == "arm64" else variant)


# Specifiers.


def _decode_option(spec: str, value: str) -> str:
    if "%" not in value:
        return value
    if _PERCENT_ENCODED_RE.fullmatch(value) is None:
        raise _invalid(spec, f"bad percent-encoding in {_q(value)}")
    return urllib.parse.unquote(value, errors="replace")


def _encode_option(value: str) -> str:
    return "".join(_OS_OPTION_ESCAPES.get(c, c) for c in value)


def parse(spec: str, host: Platform | None = None) -> Platform:
    """Parse a platform specifier; missing parts come from ``host`` (default: :func:`default`).

    Raises :class:`InvalidPlatformError` naming the specifier.
    """
    if "*" in spec:
        raise _invalid(spec, "wildcards are not supported")
    parts = spec.split("/", 3)
    os_match = _OS_RE.fullmatch(parts[0])
    if os_match is None:
        raise _invalid(
            spec,
            f"{_q(parts[0])} is not an operating system"
            " (expected os[(version[+feature...])], e.g. linux or windows(10.0.20348))",
        )
    for part in parts[1:]:
        if _COMPONENT_RE.fullmatch(part) is None:
            raise _invalid(
                spec,
                f"{_q(part)} is not a valid architecture or variant"
                " (letters, digits, '_', '.', '-')",
            )
    os_name = _normalize_os(os_match.group(1), host)
    os_version = _decode_option(spec, os_match.group(2) or "")
    raw_features = os_match.group(3)
    features = (
        tuple(_decode_option(spec, f) for f in raw_features[1:].split("+")) if raw_features else ()
    )

    if len(parts) == 1:
        if os_name in KNOWN_OS:
            here = host or default()
            variant = here.variant if here.architecture == "arm" and here.variant != "v7" else ""
            return Platform(os_name, here.architecture, variant, os_version, features)
        arch, variant = normalize_arch(parts[0], "")
        if arch not in KNOWN_ARCH:
            raise _invalid(spec, "unknown operating system or architecture")
        if arch == "arm" and variant == "v7":
            variant = ""  # plain "arm" means v7; keep the familiar spelling
        return Platform((host or default()).os, arch, variant)
    if len(parts) == 2:
        arch, variant = normalize_arch(parts[1], "")
        if arch == "arm" and variant == "v7":
            variant = ""
        return Platform(os_name, arch, variant, os_version, features)
    if len(parts) == 3:
        arch, variant = normalize_arch(parts[1], parts[2])
        if arch == "arm64" and variant == "":
            variant = "v8"  # written explicitly, so kept
        return Platform(os_name, arch, variant, os_version, features)
    raise _invalid(spec, "expected os/architecture[/variant]")


def format(platform: Platform) -> str:
    """``os/architecture[/variant]`` (``unknown`` without an OS)."""
    if not platform.os:
        return "unknown"
    return "/".join(p for p in (platform.os, platform.architecture, platform.variant) if p)


def format_all(platform: Platform) -> str:
    """Like :func:`format`, with OS version and features: ``windows(10.0.20348+win32k)/amd64``."""
    if not platform.os:
        return "unknown"
    options = _encode_option(platform.os_version) + "".join(
        "+" + _encode_option(f) for f in sorted(platform.os_features) if f
    )
    os_part = f"{platform.os}({options})" if options else platform.os
    return "/".join(p for p in (os_part, platform.architecture, platform.variant) if p)


# Windows OS versions.


def _windows_build(version: str) -> tuple[int, int, int] | None:
    """(major, minor, build) of ``major.minor.build[.revision]``, or None if unusable."""
    pieces = version.split(".")
    if len(pieces) < 3 or not all(p.isdigit() for p in pieces[:3]):
        return None
    major, minor, build = (int(p) for p in pieces[:3])
    if major > 255 or minor > 255 or build > 65535:
        return None
    return major, minor, build


def windows_host_can_run(host_version: str, image_version: str) -> bool:
    """Whether a Windows host of ``host_version`` runs an image built for ``image_version``.

    Before Windows Server 2022 the builds must be equal. From 2022 on, a host runs
    images from the latest LTSC build it has reached (the stable ABI) up to its own.
    """
    host = _windows_build(host_version) or (0, 0, 0)
    image = _windows_build(image_version) or (0, 0, 0)
    if host[:2] != image[:2]:
        return False
    if host[2] < _WINDOWS_LTSC_ABI_BUILDS[0]:
        return host[2] == image[2]
    floor = max(b for b in _WINDOWS_LTSC_ABI_BUILDS if b <= host[2])
    return floor <= image[2] <= host[2]


def _os_version_ok(wanted: Platform, candidate: Platform) -> bool:
    """OS versions only constrain Windows, and only when both sides state a usable one."""
    if wanted.os != "windows" or not candidate.os_version:
        return True
    if _windows_build(wanted.os_version) is None:
        return True
    return windows_host_can_run(wanted.os_version, candidate.os_version)


def _version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in version.split(".") if version)


# Matchers.


class Matcher(Protocol):
    """Decides which platforms are acceptable and which of two is preferable."""

    def match(self, candidate: Platform) -> bool: ...

    def less(self, a: Platform, b: Platform) -> bool:
        """True if ``a`` should be chosen before ``b``."""
        ...


class _PlatformMatcher:
    """One platform: same OS, architecture and variant after normalization, OS
    features a subset of the wanted ones, and (Windows) a compatible OS build."""

    def __init__(self, platform: Platform) -> None:
        self.platform = normalize(platform)
        self.windows = self.platform.os == "windows"

    def match(self, candidate: Platform) -> bool:
        n = normalize(candidate)
        if (n.os, n.architecture, n.variant) != (
            self.platform.os,
            self.platform.architecture,
            self.platform.variant,
        ):
            return False
        if not _os_version_ok(self.platform, candidate):
            return False
        return set(n.os_features) <= set(self.platform.os_features)

    def less(self, a: Platform, b: Platform) -> bool:
        return _ordered_less((self,), a, b)

    def __repr__(self) -> str:
        return f"new_matcher({format_all(self.platform)!r})"


def _feature_count(p: Platform) -> int:
    return len(set(p.os_features))


def _prefer_both_matching(matcher: _PlatformMatcher, a: Platform, b: Platform) -> bool:
    """Between two acceptable candidates: more OS features first; for Windows, the
    newer OS build (a later revision of the same build carries fixes)."""
    if _feature_count(a) != _feature_count(b):
        return _feature_count(a) > _feature_count(b)
    if matcher.windows:
        return _version_key(a.os_version) > _version_key(b.os_version)
    return False


def _without_features(p: Platform) -> Platform:
    return dataclasses.replace(p, os_features=())


def _ordered_less(matchers: Sequence[_PlatformMatcher], a: Platform, b: Platform) -> bool:
    for m in matchers:
        ma, mb = m.match(a), m.match(b)
        if ma and mb:
            return _prefer_both_matching(m, a, b)
        if ma or mb:
            return ma
    if a.os_features or b.os_features:
        # Neither is acceptable as is; one that would be without its extra features
        # still ranks above one that would not be in any case.
        return _ordered_less(matchers, _without_features(a), _without_features(b))
    return False


class _Ordered:
    """Accepts any of several platforms, preferring them in the order given."""

    def __init__(self, platforms: Iterable[Platform]) -> None:
        self.matchers = tuple(_PlatformMatcher(p) for p in platforms)

    def match(self, candidate: Platform) -> bool:
        return any(m.match(candidate) for m in self.matchers)

    def less(self, a: Platform, b: Platform) -> bool:
        return _ordered_less(self.matchers, a, b)

    def __repr__(self) -> str:
        return f"ordered({', '.join(repr(format_all(m.platform)) for m in self.matchers)})"


class _AnyOf(_Ordered):
    """Accepts any of several platforms without preferring one over another."""

    def less(self, a: Platform, b: Platform) -> bool:
        ma, mb = self.match(a), self.match(b)
        if ma and mb:
            return _feature_count(a) > _feature_count(b)
        if not ma and not mb and (a.os_features or b.os_features):
            return self.less(_without_features(a), _without_features(b))
        return ma and not mb


class _All:
    def match(self, candidate: Platform) -> bool:
        return True

    def less(self, a: Platform, b: Platform) -> bool:
        return False


class _OnlyOS:
    """Any architecture of one OS (with compatible features), the exact one first."""

    def __init__(self, platform: Platform) -> None:
        self.platform = normalize(platform)
        self._exact = _Ordered([self.platform])

    def match(self, candidate: Platform) -> bool:
        n = normalize(candidate)
        if n.os != self.platform.os:
            return False
        if not _os_version_ok(self.platform, candidate):
            return False
        return set(n.os_features) <= set(self.platform.os_features)

    def less(self, a: Platform, b: Platform) -> bool:
        ma, mb = self.match(a), self.match(b)
        if ma != mb:
            return ma
        return ma and self._exact.less(a, b)


ALL: Matcher = _All()
"""Accepts every platform, with no preference."""


def new_matcher(platform: Platform) -> Matcher:
    """Accepts ``platform`` in any spelling (containerd's ``NewMatcher``)."""
    return _PlatformMatcher(platform)


def ordered(*platforms: Platform) -> Matcher:
    """Accepts any of ``platforms``, preferring earlier ones."""
    return _Ordered(platforms)


def any_of(*platforms: Platform) -> Matcher:
    """Accepts any of ``platforms`` with no preference between them."""
    return _AnyOf(platforms)


def _platform_vector(p: Platform) -> list[Platform]:
    """``p`` followed by what a ``p`` machine can also run, best first."""
    vector = [p]

    def variant(v: str, arch: str | None = None) -> Platform:
        return dataclasses.replace(p, architecture=arch or p.architecture, variant=v)

    if p.architecture == "amd64":
        level = _numbered(p.variant) or 1
        vector += [variant(f"v{n}") for n in range(level - 1, 0, -1)]
        vector.append(variant("", "386"))
    elif p.architecture == "arm":
        level = _numbered(p.variant) or 0
        vector += [variant(f"v{n}") for n in range(level - 1, 4, -1)]
    elif p.architecture == "arm64":
        match = re.fullmatch(r"v(\d+)(?:\.(\d+))?", p.variant or "v8")
        if match is not None and int(match.group(1)) >= 8:
            major, minor = int(match.group(1)), int(match.group(2) or 0)

            def arm64(major: int, minor: int) -> Platform:
                return variant(f"v{major}" if minor == 0 else f"v{major}.{minor}")

            if major == 9:
                vector += [arm64(9, m) for m in range(minor - 1, -1, -1)]
                # Armv9.x includes Armv8.(x+5); v8.9 is the last v8 extension.
                vector += [arm64(8, m) for m in range(min(minor + 5, 9), -1, -1)]
            elif major == 8:
                vector += [arm64(8, m) for m in range(minor - 1, -1, -1)]
            # 64-bit ARM runs 32-bit ARM code up to Armv8.
            vector += _platform_vector(variant("v8", "arm"))
    return vector


def only(platform: Platform) -> Matcher:
    """What a ``platform`` machine runs, most capable first (containerd's ``Only``).

    amd64/vN also runs lower amd64 levels and 386; arm/vN runs arm down to v5; arm64
    runs lower arm64 revisions (v9.x includes v8.(x+5)) and arm/v8 down to v5.
    """
    return _Ordered(_platform_vector(normalize(platform)))


def only_strict(platform: Platform) -> Matcher:
    """Only ``platform`` itself, in any spelling (``arm`` == ``arm/v7``)."""
    return _Ordered([normalize(platform)])


def only_os(platform: Platform) -> Matcher:
    """Any architecture of ``platform``'s OS, its own architecture first."""
    return _OnlyOS(platform)


def sort_by_preference(matcher: Matcher, candidates: Iterable[Platform]) -> list[Platform]:
    """Candidates in the matcher's order of preference; ties keep their order."""

    def compare(a: Platform, b: Platform) -> int:
        if matcher.less(a, b):
            return -1
        return 1 if matcher.less(b, a) else 0

    return sorted(candidates, key=functools.cmp_to_key(compare))


def best_match(
    wanted: Platform | Matcher, candidates: Sequence[Platform], strict: bool = False
) -> int | None:
    """Index of the candidate to use for ``wanted``, or None if none is acceptable.

    This is what ``--platform`` does on an image index: among acceptable entries it
    takes the most preferred (an arm64 request takes arm64 over arm/v7 wherever they
    appear), and the first of equally good ones.
    """
    if isinstance(wanted, Platform):
        matcher = only_strict(wanted) if strict else only(wanted)
    else:
        matcher = wanted
    best: int | None = None
    for i, candidate in enumerate(candidates):
        if not matcher.match(candidate):
            continue
        if best is None or matcher.less(candidate, candidates[best]):
            best = i
    return best
