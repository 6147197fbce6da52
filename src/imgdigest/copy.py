"""Copy an image or a whole index, by digest, between registries and local layouts.

The graph is walked from what the source reference names; blobs are copied first
(concurrently), then manifests children-first, so a destination never holds a
manifest whose content is missing, and the tag moves last. Each step asks before it
acts: a blob or manifest already at the destination is skipped, a blob in another
repository of the same registry is mounted rather than sent. That is also what makes
a copy resumable: run it again after an interruption and only what never arrived
travels. Every byte read from the source is verified on the way, and at the end the
destination's answer for the tag must be the source digest.

Destinations are registries (``Pusher``), OCI layout directories (``LayoutWriter``) and
``docker save`` archives (a staged layout, packed at the end); sources are any
:class:`~imgdigest.sources.ImageSource`.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgdigest import reference as references
from imgdigest.cache import default_root
from imgdigest.errors import ImgdigestError, UsageError, VerificationError
from imgdigest.explore import select
from imgdigest.media import Descriptor, Manifest
from imgdigest.platform import Platform
from imgdigest.reference import Reference
from imgdigest.registry.upload import DEFAULT_CHUNK_SIZE, PUSH, Pusher, UploadSessions
from imgdigest.resolver import AsyncResolver
from imgdigest.sources import (
    ImageSource,
    LayoutSource,
    LayoutWriter,
    RegistrySource,
    is_local,
    parse_local,
)
from imgdigest.sources.archive import write_archive
from imgdigest.sources.layout import DirFiles

MAX_DEPTH = 4
BLOB_CONCURRENCY = 6
PROGRESS_INTERVAL = 0.2


@dataclass
class CopyReport:
    """What a copy did; ``reference`` is ``DST@DIGEST``."""

    reference: str
    digest: str
    manifests: int = 0
    manifests_skipped: int = 0
    blobs: int = 0
    blobs_skipped: int = 0
    blobs_mounted: int = 0
    blobs_uploaded: int = 0
    bytes_uploaded: int = 0
    bytes_resumed: int = 0

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def summary(self) -> str:
        return (
            f"{self.manifests} manifests ({self.manifests_skipped} already there), "
            f"{self.blobs} blobs: {self.blobs_uploaded} uploaded ({self.bytes_uploaded} bytes), "
            f"{self.blobs_mounted} mounted, {self.blobs_skipped} already there"
            + (
                f"; resumed past {self.bytes_resumed} bytes sent before"
                if self.bytes_resumed
                else ""
            )
        )


# -- destinations ----------------------------------------------------------------------
class Destination(ABC):
    where: str
    tag: str | None

    @abstractmethod
    async def has_blob(self, digest: str) -> bool: ...

    @abstractmethod
    async def put_blob(self, d: Descriptor, source: ImageSource) -> str:
        """Copy one blob; returns ``"uploaded"`` or ``"mounted"``."""

    @abstractmethod
    async def has_manifest(self, digest: str) -> bool: ...

    @abstractmethod
    async def put_manifest(self, m: Manifest, digest: str, tag: str | None) -> None: ...

    async def authorize(self, source: ImageSource) -> None:  # noqa: B027 - optional
        """Get the credentials the copy needs, before the source is first read."""

    async def prepare(self, source: ImageSource) -> None:  # noqa: B027 - optional
        """Get ready to receive content from ``source`` (directories)."""

    async def finish(  # noqa: B027 - optional
        self, top: Manifest, digest: str, platform: Platform | None
    ) -> None:
        """Everything arrived: record the tag where that is a separate step."""

    async def verify(self, digest: str) -> None:  # noqa: B027 - optional
        """Check that the destination now names ``digest`` under its tag."""

    def pinned(self, digest: str) -> str:
        return f"{self.where.split('@', 1)[0]}@{digest}"

    @property
    def bytes_sent(self) -> int:
        return 0

    @property
    def bytes_resumed(self) -> int:
        return 0


class RegistryDestination(Destination):
    def __init__(
        self, resolver: AsyncResolver, ref: Reference, given: str, chunk_size: int
    ) -> None:
        self.resolver = resolver
        self.ref = ref
        self.where = given
        self.tag = ref.tag if not ref.digest else None
        ep = resolver.endpoints(ref.without_digest())[-1]  # never push to a mirror
        root = Path(resolver.options.cache_dir) if resolver.options.cache_dir else default_root()
        sessions = UploadSessions(root / "uploads")
        self.pusher = Pusher(resolver.transport, ep, chunk_size, sessions)

    async def authorize(self, source: ImageSource) -> None:
        """One token for pushing here and, on the same registry, pulling the source."""
        repos = {self.pusher.endpoint.repository}
        if isinstance(source, RegistrySource):
            src_ep = source.resolver.endpoints(source.ref)[-1]
            if src_ep.host == self.pusher.endpoint.host:
                repos.add(src_ep.repository)
        try:
            await self.resolver.transport.prepare(self.pusher.endpoint.host, repos, PUSH)
        except ImgdigestError:
            # Some token services refuse push on the source; mounting is then skipped.
            await self.resolver.transport.prepare(
                self.pusher.endpoint.host, [self.pusher.endpoint.repository], PUSH
            )

    async def has_blob(self, digest: str) -> bool:
        return await self.pusher.has_blob(digest)

    async def put_blob(self, d: Descriptor, source: ImageSource) -> str:
        location = None
        if isinstance(source, RegistrySource):
            src_ep = source.resolver.endpoints(source.ref)[-1]
            same = src_ep.host == self.pusher.endpoint.host
            if same and src_ep.repository != self.pusher.endpoint.repository:
                location = await self.pusher.mount(d.digest, src_ep.repository)
                if location is None:
                    return "mounted"
        await self.pusher.upload(d.digest, d.size, source.stream(d.digest), location)
        return "uploaded"

    async def has_manifest(self, digest: str) -> bool:
        return await self.pusher.manifest_digest(digest) == digest

    async def put_manifest(self, m: Manifest, digest: str, tag: str | None) -> None:
        await self.pusher.put_manifest(tag or digest, m.raw, m.media_type, digest)

    async def verify(self, digest: str) -> None:
        if self.tag:
            got = await self.pusher.manifest_digest(self.tag)
            if got != digest:
                raise VerificationError(
                    f"{self.where}: after the copy the tag names {got}, not {digest}"
                )

    def pinned(self, digest: str) -> str:
        base = self.where.split("@", 1)[0]
        return f"{base}@{digest}"

    @property
    def bytes_sent(self) -> int:
        return self.pusher.stats.bytes_sent

    @property
    def bytes_resumed(self) -> int:
        return self.pusher.stats.bytes_resumed


class LayoutDestination(Destination):
    def __init__(self, root: Path, tag: str | None, given: str) -> None:
        self.writer = LayoutWriter(root)
        self.where = given
        self.tag = tag
        self._sent = 0

    async def prepare(self, source: ImageSource) -> None:
        self.writer.ensure()

    async def has_blob(self, digest: str) -> bool:
        return self.writer.has_blob(digest)

    async def put_blob(self, d: Descriptor, source: ImageSource) -> str:
        written = await self.writer.write_blob(d.digest, source.stream(d.digest))
        self._sent += written
        return "uploaded"

    async def has_manifest(self, digest: str) -> bool:
        return self.writer.has_blob(digest)

    async def put_manifest(self, m: Manifest, digest: str, tag: str | None) -> None:
        if not self.writer.has_blob(digest):
            self.writer.write_bytes(digest, m.raw)

    async def finish(self, top: Manifest, digest: str, platform: Platform | None) -> None:
        self.writer.tag(_descriptor(top, digest), self.tag)

    def pinned(self, digest: str) -> str:
        base = self.where.split("@", 1)[0]
        return f"{base}@{digest}"

    @property
    def bytes_sent(self) -> int:
        return self._sent


class ArchiveDestination(LayoutDestination):
    """A ``docker save`` archive, staged as an OCI layout beside it and packed at the end.

    The staging directory survives a failed copy, so a re-run skips what arrived. The
    archive holds everything copied (all platforms of an index, with their real
    digests); its ``manifest.json`` names the image ``docker load`` imports: the one for
    ``--platform``, or this machine's platform.
    """

    def __init__(self, path: Path, name: str | None, given: str) -> None:
        self.path = path
        stage = path.parent / f".{path.name}.partial"
        super().__init__(stage, None, given)
        self.name = references.normalize(name) if name else None
        if self.name is not None and self.name.digest:
            raise UsageError(f"{given}: name the archive's image by tag, not by digest")

    async def prepare(self, source: ImageSource) -> None:
        if self.path.is_dir():
            raise UsageError(f"{self.path}: is a directory")
        await super().prepare(source)

    async def finish(self, top: Manifest, digest: str, platform: Platform | None) -> None:
        name = self.name
        self.writer.tag(
            _descriptor(top, digest),
            name.tag if name else None,
            str(name) if name else None,
        )
        staged = LayoutSource(DirFiles(self.writer.root), f"@{digest}", self.where)
        sel = await select(staged, platform, need_image=True)
        if sel.manifest.config is None:
            raise UsageError(f"{self.where}: {sel.digest} is not an image docker load can import")
        write_archive(
            self.writer.root,
            self.path,
            sel.manifest.config.digest,
            [d.digest for d in sel.manifest.layers],
            [name.familiar_string] if name else [],
        )
        shutil.rmtree(self.writer.root, ignore_errors=True)


def _descriptor(top: Manifest, digest: str) -> Descriptor:
    return Descriptor(top.media_type, digest, len(top.raw), artifact_type=top.artifact_type)


def open_destination(
    text: str, resolver: AsyncResolver, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> Destination:
    if is_local(text):
        local = parse_local(text)
        if local.selector and local.selector.startswith("@"):
            raise UsageError(f"{text}: name the destination by tag, not by digest")
        if local.transport == "docker-archive":
            return ArchiveDestination(local.path, local.selector, text)
        return LayoutDestination(local.path, local.selector, text)
    ref = references.normalize(text)
    return RegistryDestination(resolver, ref, text, chunk_size)


# -- the copy ----------------------------------------------------------------------------
@dataclass
class _Plan:
    manifests: list[tuple[Manifest, str]] = field(default_factory=list)  # children first
    blobs: dict[str, Descriptor] = field(default_factory=dict)


async def _walk(source: ImageSource, m: Manifest, digest: str, plan: _Plan, depth: int) -> None:
    if any(d == digest for _, d in plan.manifests):
        return
    if m.is_index:
        if depth >= MAX_DEPTH:
            raise UsageError(f"{source.at(digest)}: indexes nested deeper than {MAX_DEPTH}")
        children = await asyncio.gather(*(source.manifest(c.digest) for c in m.manifests))
        for c, child in zip(m.manifests, children, strict=True):
            await _walk(source, child, c.digest, plan, depth + 1)
    else:
        for d in ([m.config] if m.config else []) + list(m.layers):
            if d.digest not in plan.blobs:
                plan.blobs[d.digest] = d
    plan.manifests.append((m, digest))


async def copy(
    source: ImageSource,
    dest: Destination,
    platform: Platform | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CopyReport:
    """Copy what ``source`` names (or its ``platform`` child) to ``dest``.

    ``progress(done, total)`` is called with blob bytes about 5 times a second while blobs
    are copied (blobs the destination already has, or mounted, count as done at once).
    """
    await dest.authorize(source)
    if platform is not None:
        sel = await select(source, platform, need_image=True)
        top, digest = sel.manifest, sel.digest
    else:
        top, digest = await source.top()
    await dest.prepare(source)
    plan = _Plan()
    await _walk(source, top, digest, plan, 0)
    report = CopyReport(dest.pinned(digest), digest)
    report.blobs = len(plan.blobs)
    report.manifests = len(plan.manifests)

    limit = asyncio.Semaphore(BLOB_CONCURRENCY)
    total = sum(d.size for d in plan.blobs.values())
    not_sent = 0  # bytes of blobs done without sending them (present or mounted)
    uploaded = 0  # bytes of blobs uploaded in full (for destinations that count no bytes)

    async def one_blob(d: Descriptor) -> None:
        nonlocal not_sent, uploaded
        async with limit:
            if await dest.has_blob(d.digest):
                report.blobs_skipped += 1
                not_sent += d.size
                return
            how = await dest.put_blob(d, source)
            if how == "mounted":
                report.blobs_mounted += 1
                not_sent += d.size
            else:
                report.blobs_uploaded += 1
                uploaded += d.size

    async def tick() -> None:
        assert progress is not None
        while True:
            progress(min(total, not_sent + max(uploaded, dest.bytes_sent)), total)
            await asyncio.sleep(PROGRESS_INTERVAL)

    ticker = asyncio.create_task(tick()) if progress is not None else None
    try:
        await _gather_all(one_blob(d) for d in plan.blobs.values())
    finally:
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
    if progress is not None:
        progress(total, total)
    for m, d in plan.manifests:
        is_top = d == digest
        if await dest.has_manifest(d) and not (is_top and dest.tag):
            report.manifests_skipped += 1
            continue
        await dest.put_manifest(m, d, dest.tag if is_top else None)
    await dest.finish(top, digest, platform)
    await dest.verify(digest)
    report.bytes_uploaded = dest.bytes_sent
    report.bytes_resumed = dest.bytes_resumed
    return report


async def _gather_all(coros: Iterable[Awaitable[None]]) -> None:
    """Run all; if any fails, let the others finish (they are useful work) then raise."""
    results = await asyncio.gather(*coros, return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            raise r
