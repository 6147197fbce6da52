"""A local cache of manifests by digest, and (only when asked) of tags.

Manifests and indexes are immutable: bytes once verified against their digest can
be kept forever, so a repeated ``--platform`` lookup costs one HEAD instead of a HEAD
and a GET. Entries are re-verified when read; a corrupt entry is dropped, never
trusted. Tags move, so the CLI caches them only for ``--max-age`` seconds, on request.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from imgdigest.files import PRIVATE, replace_file


def default_root() -> Path:
    return Path(platformdirs.user_cache_dir("imgdigest"))


@dataclass(frozen=True)
class TagEntry:
    digest: str
    media_type: str
    size: int
    stored_at: float


class ContentCache:
    """Content-addressed files under ``root``; every write is atomic."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    def _path(self, digest: str) -> Path | None:
        algo, _, hexpart = digest.partition(":")
        if algo not in ("sha256", "sha384", "sha512") or not hexpart.isalnum():
            return None
        return self.root / "manifests" / algo / hexpart

    def get(self, digest: str) -> tuple[bytes, str] | None:
        path = self._path(digest)
        if path is None:
            return None
        try:
            data = path.read_bytes()
            media_type = path.with_suffix(".type").read_text(encoding="utf-8")
        except OSError:
            return None
        algo, _, hexpart = digest.partition(":")
        if hashlib.new(algo, data).hexdigest() != hexpart:
            path.unlink(missing_ok=True)
            return None
        return data, media_type

    def put(self, digest: str, data: bytes, media_type: str) -> None:
        path = self._path(digest)
        if path is None:
            return
        # A read-only or full cache directory must not fail the lookup.
        with contextlib.suppress(OSError):
            _write_atomic(path.with_suffix(".type"), media_type.encode())
            _write_atomic(path, data)

    def _tag_path(self, name: str, tag: str) -> Path:
        key = hashlib.sha256(f"{name}:{tag}".encode()).hexdigest()
        return self.root / "tags" / key[:2] / key

    def get_tag(self, name: str, tag: str, max_age: float) -> TagEntry | None:
        try:
            obj = json.loads(self._tag_path(name, tag).read_text(encoding="utf-8"))
            entry = TagEntry(
                obj["digest"], obj["media_type"], int(obj["size"]), float(obj["stored_at"])
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if time.time() - entry.stored_at > max_age:
            return None
        return entry

    def put_tag(self, name: str, tag: str, digest: str, media_type: str, size: int) -> None:
        obj = {"digest": digest, "media_type": media_type, "size": size, "stored_at": time.time()}
        with contextlib.suppress(OSError):
            _write_atomic(self._tag_path(name, tag), json.dumps(obj).encode())


class SchemeCache:
    """Which scheme a loopback registry speaks, remembered across runs.

    Without it every run would first try HTTPS on a plain-HTTP test registry. A wrong
    entry costs one failed attempt and is dropped, so the file is a hint, never trusted
    for security: whether plain HTTP is allowed at all is decided by the transport.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._known: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        if self._known is None:
            try:
                obj = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                obj = {}
            known = obj if isinstance(obj, dict) else {}
            self._known = {
                k: v for k, v in known.items() if isinstance(k, str) and v in ("http", "https")
            }
        return self._known

    def get(self, host: str) -> str | None:
        return self._load().get(host)

    def put(self, host: str, scheme: str) -> None:
        known = self._load()
        if known.get(host) != scheme:
            known[host] = scheme
            self._save()

    def drop(self, host: str) -> None:
        if self._load().pop(host, None) is not None:
            self._save()

    def _save(self) -> None:
        # A read-only cache directory must not fail the lookup.
        with contextlib.suppress(OSError):
            _write_atomic(self.path, json.dumps(self._known, sort_keys=True).encode())


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, data, mode=PRIVATE)
