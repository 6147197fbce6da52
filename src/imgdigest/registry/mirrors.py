"""Mirrors and registry rewrites from a containers-registries.conf (v2, TOML).

The same file podman, buildah, skopeo and CRI-O read, so an air-gapped site
configures its mirrors once::

    [[registry]]
    prefix = "registry.k8s.io"
    location = "registry.k8s.io"
    [[registry.mirror]]
    location = "mirror.internal:5000/k8s"
    insecure = true

A reference whose name starts with ``prefix`` (longest prefix wins; ``*.example.com``
matches subdomains) is tried at each mirror in order, then at ``location``. Resolving
through a mirror gives the same digest, since a digest is the hash of the content.
``pull-from-mirror`` limits a mirror to ``digest-only`` or ``tag-only`` references, and
``blocked`` refuses a registry outright.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgdigest.errors import ConfigError, UsageError
from imgdigest.jsonfile import decode_text, read_bounded, type_name
from imgdigest.reference import _ANCHORED_REMOTE_NAME_RE, ANCHORED_DOMAIN_RE


@dataclass(frozen=True)
class Endpoint:
    """Where to ask for a repository: a registry host and the path in it."""

    host: str
    repository: str
    insecure: bool = False
    mirror: bool = False

    @property
    def name(self) -> str:
        return f"{self.host}/{self.repository}"


@dataclass(frozen=True)
class _Mirror:
    location: str
    insecure: bool
    pull_from: str  # "all", "digest-only", "tag-only"


@dataclass(frozen=True)
class _Entry:
    prefix: str
    location: str
    insecure: bool
    blocked: bool
    mirrors: tuple[_Mirror, ...]


def default_path() -> Path | None:
    """``$CONTAINERS_REGISTRIES_CONF``, then the user's, then the system file."""
    env = os.environ.get("CONTAINERS_REGISTRIES_CONF")
    if env:
        return Path(env)
    for p in (
        Path.home() / ".config/containers/registries.conf",
        Path("/etc/containers/registries.conf"),
    ):
        if p.is_file():
            return p
    return None


class Mirrors:
    """Maps a normalized repository name to the endpoints to try, in order."""

    def __init__(self, entries: list[_Entry] | None = None) -> None:
        self._entries = sorted(entries or [], key=lambda e: len(e.prefix), reverse=True)

    @classmethod
    def load(cls, path: str | Path | None) -> Mirrors:
        if path is None:
            return cls()
        p = Path(path)
        what = "registries configuration"
        try:
            raw = read_bounded(p, what)
        except FileNotFoundError:
            raise ConfigError(f"{p}: {what} not found") from None
        text = decode_text(raw, str(p), what)
        import tomllib  # only when a configuration is given: 4 ms of start-up otherwise

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            # "... (at line 3, column 7)": the line goes where every message puts it.
            msg, line = str(exc), ""
            if m := re.search(r" \(at line (\d+), column (\d+)\)$", msg):
                msg, line = f"{msg[: m.start()]} (column {m.group(2)})", f":{m.group(1)}"
            raise ConfigError(f"{p}{line}: not valid TOML: {msg}") from None
        except RecursionError:
            raise ConfigError(f"{p}: not valid TOML: nested too deeply") from None
        return cls(_parse(data, str(p), _Lines.scan(text)))

    def __bool__(self) -> bool:
        return bool(self._entries)

    def endpoints(self, name: str, by_digest: bool) -> list[Endpoint]:
        """Endpoints for ``host/path`` (already normalized), mirrors first."""
        entry = self._match(name)
        host, _, path = name.partition("/")
        if entry is None:
            return [Endpoint(host, path)]
        if entry.blocked:
            raise UsageError(
                f"{name}: registry {entry.prefix} is blocked by the registries configuration"
            )
        rest = name[len(entry.prefix) :] if not entry.prefix.startswith("*.") else name[len(host) :]
        out: list[Endpoint] = []
        for m in entry.mirrors:
            if m.pull_from == "digest-only" and not by_digest:
                continue
            if m.pull_from == "tag-only" and by_digest:
                continue
            out.append(_endpoint(m.location, rest, m.insecure, mirror=True))
        location = entry.location or (entry.prefix if not entry.prefix.startswith("*.") else host)
        out.append(_endpoint(location, rest, entry.insecure, mirror=False))
        return out

    def _match(self, name: str) -> _Entry | None:
        host = name.split("/", 1)[0]
        for e in self._entries:
            if e.prefix.startswith("*."):
                if host.endswith(e.prefix[1:]):
                    return e
            elif name == e.prefix or name.startswith(e.prefix + "/"):
                return e
        return None


def _endpoint(location: str, rest: str, insecure: bool, mirror: bool) -> Endpoint:
    full = location.rstrip("/") + rest
    host, _, path = full.partition("/")
    return Endpoint(host=host, repository=path, insecure=insecure, mirror=mirror)


# Where [[registry]] and [[registry.mirror]] headers are, so messages can give a line.
_REGISTRY_HEADER = re.compile(r"\s*\[\[\s*registry\s*\]\]")
_MIRROR_HEADER = re.compile(r"\s*\[\[\s*registry\s*\.\s*mirror\s*\]\]")
# A location: host[:port][/path], the distribution grammar's domain and path.
_LOCATION = re.compile(
    rf"(?P<domain>{ANCHORED_DOMAIN_RE.pattern})(?:/(?P<path>{_ANCHORED_REMOTE_NAME_RE.pattern}))?"
)
_PULL_FROM = ("all", "digest-only", "tag-only")


@dataclass
class _Lines:
    """Line numbers of each ``[[registry]]`` header and of the mirror headers under it."""

    registries: list[int]
    mirrors: list[list[int]]

    @classmethod
    def scan(cls, text: str) -> _Lines:
        lines = cls([], [])
        for number, line in enumerate(text.splitlines(), 1):
            if _REGISTRY_HEADER.match(line):
                lines.registries.append(number)
                lines.mirrors.append([])
            elif _MIRROR_HEADER.match(line) and lines.mirrors:
                lines.mirrors[-1].append(number)
        return lines

    def at(self, where: str, i: int, j: int | None = None) -> str:
        """``file:line`` of registry ``i``'s mirror ``j`` (inline: of the registry), or the file."""
        if j is not None and i < len(self.mirrors) and j < len(self.mirrors[i]):
            return f"{where}:{self.mirrors[i][j]}"
        return f"{where}:{self.registries[i]}" if i < len(self.registries) else where


def _field(table: dict[str, Any], key: str, kind: type, at: str, default: Any) -> Any:
    value = table.get(key, default)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        want = {str: "a string", bool: "a boolean (true or false)", list: "an array"}[kind]
        raise ConfigError(f"{at}.{key}: expected {want}, got {_toml_type(value)}")
    return value


def _toml_type(value: object) -> str:
    name = type_name(value)
    return "table" if name == "object" else name


def _shown(value: str) -> str:
    """A value for a message: short, and without what precedes an ``@`` (user:password@)."""
    if "@" in value.partition("/")[0]:
        value = "…@" + value.partition("@")[2]
    return repr(value[:100])


def _location(value: str, at: str) -> str:
    """A valid ``host[:port][/path]`` (one trailing slash forgiven), else a ConfigError."""
    text = value[:-1] if value.endswith("/") else value
    m = _LOCATION.fullmatch(text)
    domain = m.group("domain") if m else ""
    port = "" if domain.endswith("]") else domain.rpartition(":")[2] if ":" in domain else ""
    if m is None or (port and not 0 < int(port) < 65536):
        raise ConfigError(f"{at}: {_shown(value)} is not host[:port][/path]")
    return text


def _prefix(value: str, at: str) -> str:
    if value.startswith("*."):
        if not _LOCATION.fullmatch(value[2:]) or "/" in value or ":" in value:
            raise ConfigError(f"{at}: {_shown(value)} is not *.domain")
        return value
    if "@" in value or ":" in value.partition("/")[2]:
        raise ConfigError(f"{at}: {_shown(value)}: prefixes with a tag or digest are not supported")
    return _location(value, at)


def _parse(data: dict[str, Any], where: str, lines: _Lines | None = None) -> list[_Entry]:
    """Entries from a parsed file; every field's type and every location are checked."""
    lines = lines or _Lines([], [])
    registries = data.get("registry", [])
    if not isinstance(registries, list):
        raise ConfigError(
            f"{where}: registry: expected an array of tables ([[registry]]), "
            f"got {_toml_type(registries)}"
        )
    entries: list[_Entry] = []
    for i, reg in enumerate(registries):
        at = f"{lines.at(where, i)}: registry[{i + 1}]"
        if not isinstance(reg, dict):
            raise ConfigError(f"{at}: expected a table, got {_toml_type(reg)}")
        prefix = _field(reg, "prefix", str, at, "")
        location = _field(reg, "location", str, at, "")
        if location:
            location = _location(location, f"{at}.location")
        prefix = _prefix(prefix, f"{at}.prefix") if prefix else location
        if not prefix:
            raise ConfigError(f"{at}: needs a prefix or a location")
        insecure = _field(reg, "insecure", bool, at, False)
        blocked = _field(reg, "blocked", bool, at, False)
        by_digest_only = _field(reg, "mirror-by-digest-only", bool, at, False)
        mirror_list = reg.get("mirror", [])
        if not isinstance(mirror_list, list):
            raise ConfigError(
                f"{at}.mirror: expected an array of tables ([[registry.mirror]]), "
                f"got {_toml_type(mirror_list)}"
            )
        mirrors = []
        for j, m in enumerate(mirror_list):
            mat = f"{lines.at(where, i, j)}: registry[{i + 1}].mirror[{j + 1}]"
            if not isinstance(m, dict):
                raise ConfigError(f"{mat}: expected a table, got {_toml_type(m)}")
            mloc = _field(m, "location", str, mat, "")
            if not mloc:
                raise ConfigError(f"{mat}: needs a location")
            pull_from = _field(m, "pull-from-mirror", str, mat, "all")
            if pull_from not in _PULL_FROM:
                raise ConfigError(
                    f"{mat}.pull-from-mirror: {pull_from[:40]!r} is not one of "
                    + ", ".join(_PULL_FROM)
                )
            if by_digest_only:
                pull_from = "digest-only"
            mirrors.append(
                _Mirror(
                    _location(mloc, f"{mat}.location"),
                    _field(m, "insecure", bool, mat, False),
                    pull_from,
                )
            )
        entries.append(
            _Entry(
                prefix=prefix.rstrip("/"),
                location=location,
                insecure=insecure,
                blocked=blocked,
                mirrors=tuple(mirrors),
            )
        )
    return entries
