"""Lock files: reference -> digest records for reproducible and offline pinning.

``imgdigest lock`` writes what every reference in a tree resolves to; ``pin --lock
FILE --offline`` pins from it with no network, so the same inputs always give the same
files. The reader also takes what builds print, so a freshly built image is pinned by
the digest its build reported rather than by trusting a tag someone may have moved:

* our own JSON lock (``{"imgdigest-lock": 1, "images": [...]}``);
* ``docker buildx build --metadata-file`` JSON: ``containerimage.digest`` with the
  comma-separated ``image.name`` list (top level, or one object per bake target);
* text lines of ``name@digest`` or ``name:tag@digest`` - what ``pack build --publish
  --quiet`` prints - with blank lines and ``#`` comments ignored.

Keys are normalized references (``nginx:1.25`` -> ``docker.io/library/nginx:1.25``)
plus an optional platform. An entry without a tag (a build's ``name@digest``) stands
for the repository's freshly built image and matches any tag of it that has no entry
of its own.

``lock_scans`` and ``lock_paths`` build a lock from files: every tagged reference the
``pin`` rule finds (``imgdigest.pin.pinned_state``) resolved now, through one resolver.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgdigest import platform as platforms
from imgdigest import reference as references
from imgdigest.digest import Digest
from imgdigest.documents import DEFAULT_OPTIONS, FileScan, FinderOptions, ImageSite, find_images
from imgdigest.errors import ConfigError, ImgdigestError
from imgdigest.jsonfile import MiB, decode_text, loads_object, read_bounded, type_name
from imgdigest.pin import Failure, pinned_state
from imgdigest.reference import Reference

# The resolver (and the HTTP client under it) loads only when a registry is asked:
# offline work (a lock file, --offline) starts without it.
if TYPE_CHECKING:
    from imgdigest.resolver import AsyncResolver, ResolveOptions

LOCK_KEY = "imgdigest-lock"
#: A lock of tens of thousands of images is a few MiB; more is not a lock file.
MAX_LOCK_BYTES = 64 * MiB
LOCK_VERSION = 1
BUILDX_DIGEST = "containerimage.digest"
BUILDX_NAME = "image.name"


@dataclass(frozen=True)
class LockEntry:
    """What one reference (for one platform, or for all) resolved to."""

    reference: str  #: normalized, without digest; may lack a tag (build outputs)
    digest: str
    platform: str | None = None  #: ``format_all`` of the platform; None = the tag's own digest
    media_type: str | None = None
    #: platform -> digest of an index's children, when known (keeps the kind of pin offline)
    children: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"reference": self.reference, "digest": self.digest}
        if self.platform is not None:
            obj["platform"] = self.platform
        if self.media_type:
            obj["media_type"] = self.media_type
        if self.children:
            obj["children"] = dict(sorted(self.children.items()))
        return obj


def _platform_key(platform: str | platforms.Platform | None) -> str | None:
    if platform is None:
        return None
    parsed = platforms.parse(platform) if isinstance(platform, str) else platform
    return platforms.format_all(platforms.normalize(parsed))


class Lock:
    """Entries keyed by normalized reference and platform."""

    def __init__(self, entries: Iterable[LockEntry] = ()) -> None:
        self._entries: dict[tuple[str, str | None], LockEntry] = {}
        for entry in entries:
            self.add(entry)

    def add(self, entry: LockEntry) -> None:
        self._entries[(entry.reference, entry.platform)] = entry

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Any:
        return iter(self.entries())

    def entries(self) -> list[LockEntry]:
        return [self._entries[k] for k in sorted(self._entries, key=lambda k: (k[0], k[1] or ""))]

    def lookup(
        self, ref: Reference, platform: str | platforms.Platform | None = None
    ) -> LockEntry | None:
        """The entry for ``ref`` (its tag, or failing that its repository's tagless entry)."""
        plat = _platform_key(platform)
        base = ref.without_digest()
        hit = self._entries.get((str(base), plat))
        if hit is None and base.tag is not None:
            hit = self._entries.get((str(base.without_tag()), plat))
        if hit is None and plat is not None:
            # An index entry that lists its children answers a platform question too.
            index = self._entries.get((str(base), None))
            if index is None and base.tag is not None:
                index = self._entries.get((str(base.without_tag()), None))
            if index is not None and plat in index.children:
                hit = LockEntry(index.reference, index.children[plat], plat)
        return hit

    def to_json(self) -> dict[str, Any]:
        return {LOCK_KEY: LOCK_VERSION, "images": [e.to_json() for e in self.entries()]}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2) + "\n"


def _key(text: str, where: str) -> tuple[Reference, str | None]:
    """Normalized reference without digest (tag kept as written, none added) and its digest."""
    try:
        ref = references.parse_normalized(text)
    except ImgdigestError as exc:
        raise ConfigError(f"{where}: {text}: {exc}") from None
    return ref.without_digest(), ref.digest


def _digest(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: digest must be a string")
    try:
        return str(Digest.parse(value))
    except ImgdigestError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _optional_string(item: Mapping[str, Any], key: str, at: str) -> str | None:
    value = item.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{at}.{key}: expected a string, got {type_name(value)}")
    return value


def _from_lock_json(obj: Mapping[str, Any], where: str) -> Lock:
    version = obj.get(LOCK_KEY)
    if type(version) is not int or version != LOCK_VERSION:
        raise ConfigError(f"{where}: unsupported lock version {json.dumps(version)[:40]}")
    images = obj.get("images")
    if not isinstance(images, list):
        raise ConfigError(f"{where}: images: expected an array, got {type_name(images)}")
    lock = Lock()
    for i, item in enumerate(images):
        at = f"{where}: images[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("reference"), str):
            raise ConfigError(f"{at}: needs a 'reference' string")
        ref, _ = _key(item["reference"], at)
        children = item.get("children")
        children = {} if children is None else children
        if not isinstance(children, dict):
            raise ConfigError(f"{at}: 'children' must map platforms to digests")
        platform = _optional_string(item, "platform", at)
        media_type = _optional_string(item, "media_type", at)
        try:
            plat = _platform_key(platform)
            kids = {_platform_key(p) or p: _digest(d, at) for p, d in children.items()}
        except ImgdigestError as exc:
            raise ConfigError(f"{at}: {exc}") from None
        lock.add(
            LockEntry(
                reference=str(ref),
                digest=_digest(item.get("digest"), at),
                platform=plat,
                media_type=media_type,
                children=kids,
            )
        )
    return lock


def _buildx_records(obj: Any) -> Iterable[Mapping[str, Any]]:
    if isinstance(obj, dict):
        if BUILDX_DIGEST in obj:
            yield obj
        else:
            for value in obj.values():
                if isinstance(value, dict) and BUILDX_DIGEST in value:
                    yield value


def _from_buildx(obj: Mapping[str, Any], where: str) -> Lock:
    lock = Lock()
    found = False
    for record in _buildx_records(obj):
        found = True
        digest = _digest(record.get(BUILDX_DIGEST), where)
        names = record.get(BUILDX_NAME) or ""
        if not isinstance(names, str) or not names.strip():
            raise ConfigError(f"{where}: build of {digest} names no image ({BUILDX_NAME})")
        descriptor = record.get("containerimage.descriptor")
        descriptor = {} if descriptor is None else descriptor
        if not isinstance(descriptor, dict):
            raise ConfigError(
                f"{where}: containerimage.descriptor: expected an object, "
                f"got {type_name(descriptor)}"
            )
        media = _optional_string(descriptor, "mediaType", f"{where}: containerimage.descriptor")
        for name in names.split(","):
            ref, _ = _key(name.strip(), where)
            lock.add(LockEntry(str(ref), digest, None, media))
    if not found:
        raise ConfigError(
            f"{where}: JSON is neither an imgdigest lock nor buildx metadata ({BUILDX_DIGEST})"
        )
    return lock


def _from_lines(text: str, where: str) -> Lock:
    lock = Lock()
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        at = f"{where}:{number}"
        ref, digest = _key(line, at)
        if digest is None:
            raise ConfigError(f"{at}: {line}: expected name@digest")
        lock.add(LockEntry(str(ref), digest))
    return lock


def loads(text: str, where: str = "<lock>") -> Lock:
    """A lock from text in any of the accepted formats (see module doc)."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] in ("{", "["):  # no reference starts so: JSON, which must be an object
        obj = loads_object(text.lstrip("\ufeff"), where, "lock file")
        if LOCK_KEY in obj:
            return _from_lock_json(obj, where)
        return _from_buildx(obj, where)
    return _from_lines(text, where)


def read_lock(paths: str | Path | Iterable[str | Path]) -> Lock:
    """One lock from one or more files; a later file's entry wins over an earlier one."""
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    lock = Lock()
    for path in items:
        try:
            data = read_bounded(path, "lock file", MAX_LOCK_BYTES)
        except FileNotFoundError:
            raise ConfigError(f"{path}: cannot read lock file: No such file or directory") from None
        text = decode_text(data, str(path), "lock file")
        for entry in loads(text, str(path)).entries():
            lock.add(entry)
    return lock


@dataclass
class LockReport:
    """What a lock run found: the entries, what could not be resolved, the files read."""

    lock: Lock
    failures: list[Failure]
    scans: list[FileScan]

    @property
    def errors(self) -> list[ImgdigestError]:
        """Files that could not be read (each names its file and line)."""
        return [e for s in self.scans for e in s.errors]

    @property
    def exit_code(self) -> int:
        """The first failure's code (a lock with holes must not be written), else the
        first unreadable file's, else 0."""
        if self.failures:
            return self.failures[0].exit_code
        return self.errors[0].exit_code if self.errors else 0

    def to_json(self) -> dict[str, Any]:
        return {
            **self.lock.to_json(),
            "failures": [f.to_json() for f in self.failures],
            "errors": [str(e) for e in self.errors],
            "files": [s.file for s in self.scans],
        }


async def lock_scans(
    scans: Iterable[FileScan], resolver: AsyncResolver, platform: str | None = None
) -> tuple[Lock, list[Failure]]:
    """What every tagged reference in ``scans`` resolves to now, as a lock.

    Index entries list their children by platform, so a lock answers ``--platform``
    pins and keeps the kind of an existing per-platform pin offline.
    """
    wanted = platforms.parse(platform) if platform else None
    refs: dict[str, tuple[Reference, ImageSite]] = {}
    failures: list[Failure] = []
    for scan in scans:
        for site in scan.sites:
            try:
                tagged, _ = pinned_state(site)
            except ImgdigestError as exc:
                failures.append(Failure(site.file, site.line, site.image, str(exc), exc.exit_code))
                continue
            if tagged is not None:
                refs.setdefault(str(tagged), (tagged, site))
    items = list(refs.values())
    results = await resolver.resolve_many([r for r, _ in items], None, children=True)
    lock = Lock()
    for (ref, site), res in zip(items, results, strict=True):
        if isinstance(res, ImgdigestError):
            failures.append(Failure(site.file, site.line, site.image, str(res), res.exit_code))
            continue
        children = {
            platforms.format_all(platforms.normalize(c.platform)): c.digest
            for c in res.children
            if c.platform is not None and not c.attestation
        }
        lock.add(LockEntry(str(ref), res.digest, None, res.media_type, children))
    if wanted is not None:
        plats = await resolver.resolve_many([r for r, _ in items], wanted)
        key = platforms.format_all(platforms.normalize(wanted))
        for (ref, site), res in zip(items, plats, strict=True):
            if isinstance(res, ImgdigestError):
                failures.append(Failure(site.file, site.line, site.image, str(res), res.exit_code))
            else:
                lock.add(LockEntry(str(ref), res.digest, key, res.media_type))
    return lock, failures


def lock_paths(
    paths: Iterable[str],
    resolve_options: ResolveOptions | None = None,
    *,
    platform: str | None = None,
    finder: FinderOptions = DEFAULT_OPTIONS,
) -> LockReport:
    """Find the images under ``paths`` and record what their tags resolve to now."""
    if platform:
        platforms.parse(platform)
    scans = list(find_images(paths, finder))
    from imgdigest.resolver import run_with_resolver

    lock, failures = run_with_resolver(resolve_options, lambda r: lock_scans(scans, r, platform))
    return LockReport(lock, failures, scans)
