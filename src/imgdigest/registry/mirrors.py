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
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgdigest.errors import ConfigError, UsageError


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
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{p}: registries configuration not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: not valid TOML: {exc}") from None
        return cls(_parse(data, str(p)))

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


def _parse(data: dict[str, Any], where: str) -> list[_Entry]:
    entries: list[_Entry] = []
    for i, reg in enumerate(data.get("registry", []) or []):
        at = f"{where}: [[registry]] #{i + 1}"
        if not isinstance(reg, dict):
            raise ConfigError(f"{at}: not a table")
        prefix = str(reg.get("prefix") or reg.get("location") or "")
        if not prefix:
            raise ConfigError(f"{at}: needs a prefix or a location")
        mirrors = []
        for j, m in enumerate(reg.get("mirror", []) or []):
            if not isinstance(m, dict) or not m.get("location"):
                raise ConfigError(f"{at}: mirror #{j + 1} needs a location")
            pull_from = str(m.get("pull-from-mirror", "all"))
            if pull_from not in ("all", "digest-only", "tag-only"):
                raise ConfigError(f"{at}: mirror #{j + 1}: unknown pull-from-mirror {pull_from!r}")
            mirrors.append(_Mirror(str(m["location"]), bool(m.get("insecure", False)), pull_from))
        entries.append(
            _Entry(
                prefix=prefix.rstrip("/"),
                location=str(reg.get("location") or "").rstrip("/"),
                insecure=bool(reg.get("insecure", False)),
                blocked=bool(reg.get("blocked", False)),
                mirrors=tuple(mirrors),
            )
        )
    return entries
