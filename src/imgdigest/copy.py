"""Copy an image or a whole index, by digest, between registries and local layouts.

The graph is walked from what the source reference names; blobs are copied first
(concurrently), then manifests children-first, so a destination never holds a
manifest whose content is missing, and the tag moves last. Each step asks before it
acts: a blob or manifest already at the destination is skipped, a blob in another
repository of the same registry is mounted rather than sent. That is also what makes
a copy resumable: run it again after an interruption and only what never arrived
travels. Every byte read from the source is verified on the way, and at the end the
destination's answer for the tag must be the source digest.

What refers to the copied manifests travels with them (signatures, attestations, SBOMs,
and their own referrers): their blobs join the blob phase, their manifests are pushed
before the top one. A registry destination that answers a pushed ``subject`` with
``OCI-Subject`` indexes it for the referrers API itself; for one that does not, the
``sha256-HEX`` index of the referrers tag schema is kept up to date, as the distribution
spec asks of clients. Cosign's ``sha256-HEX.sig`` tags are copied as tags. A layout
records referrers in its ``index.json``, as the image layout spec says.

Destinations are registries (``Pusher``), OCI layout directories (``LayoutWriter``) and
``docker save`` archives (a staged layout, packed at the end); sources are any
:class:`~imgdigest.sources.ImageSource`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgdigest import reference as references
from imgdigest.cache import default_root
from imgdigest.digest import Digest
from imgdigest.errors import ImgdigestError, UsageError, VerificationError
from imgdigest.explore import select
from imgdigest.media import OCI_INDEX, Descriptor, Manifest
from imgdigest.platform import Platform
from imgdigest.reference import Reference
from imgdigest.referrers import Found, Referrer, schema_tag, walk
from imgdigest.registry.referrers import fetch_referrers
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
from imgdigest.sources.layout import REF_NAME, DirFiles, parse_index

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
    referrers: int = 0
    referrers_skipped: int = 0

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
            + (
                f"; {self.referrers} referrers ({self.referrers_skipped} already there)"
                if self.referrers
                else ""
            )
        )


# -- destinations ----------------------------------------------------------------------
class Destination(ABC):
    where: str
    tag: str | None
    #: whether referrers can be stored here (a docker archive has no place for them)
    carries_referrers = True

    @abstractmethod
    async def has_blob(self, digest: str) -> bool: ...

    @abstractmethod
    async def put_blob(self, d: Descriptor, source: ImageSource) -> str:
        """Copy one blob; returns ``"uploaded"`` or ``"mounted"``."""

    @abstractmethod
    async def has_manifest(self, digest: str) -> bool: ...

    @abstractmethod
    async def put_manifest(self, m: Manifest, digest: str, tag: str | None) -> None: ...

    async def put_referrer(self, f: Found) -> bool:
        """Store a referrer's manifest where it will be found; False if it was all there."""
        return False

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

    async def put_referrer(self, f: Found) -> bool:
        r, m = f.referrer, f.manifest
        if r.tag is not None:  # cosign's convention: the tag is the link
            if await self.pusher.manifest_digest(r.tag) == r.digest:
                return False
            await self.pusher.put_manifest(r.tag, m.raw, m.media_type, r.digest)
            return True
        if await self.has_manifest(r.digest):
            if await self._listed(r):
                return False
            await self._add_to_schema_index(r.subject, r.descriptor())
            return True
        headers = await self.pusher.put_manifest(r.digest, m.raw, m.media_type, r.digest)
        if not headers.get("oci-subject"):
            await self._add_to_schema_index(r.subject, r.descriptor())
        return True

    async def _listed(self, r: Referrer) -> bool:
        """Whether the destination already lists ``r`` among its subject's referrers."""
        index = await self._schema_index(r.subject)
        if any(d.get("digest") == r.digest for d in index):
            return True
        api = await fetch_referrers(self.resolver.transport, self.pusher.endpoint, r.subject, None)
        return api is not None  # a registry with the API indexed it when it was pushed

    async def _schema_index(self, subject: str) -> list[dict[str, Any]]:
        raw = await self.pusher.get_manifest(schema_tag(subject))
        if raw is None:
            return []
        where = f"{self.pusher.endpoint.name}:{schema_tag(subject)}"
        index = Manifest.parse(raw, OCI_INDEX, where)
        return [d for d in index.json.get("manifests") or [] if isinstance(d, dict)]

    async def _add_to_schema_index(self, subject: str, d: Descriptor) -> None:
        """The referrers tag schema: ``sha256-HEX`` names an index of ``subject``'s referrers."""
        entries = await self._schema_index(subject)
        if any(e.get("digest") == d.digest for e in entries):
            return
        entries.append(d.to_json())
        doc = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
        raw = (json.dumps(doc, indent=2) + "\n").encode()
        await self.pusher.put_manifest(schema_tag(subject), raw, OCI_INDEX, str(Digest.of(raw)))

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

    async def put_referrer(self, f: Found) -> bool:
        r = f.referrer
        written = not self.writer.has_blob(r.digest)
        if written:
            self.writer.write_bytes(r.digest, f.manifest.raw)
        where = f"{self.writer.root}/index.json"
        listed = parse_index((self.writer.root / "index.json").read_bytes(), where).manifests
        if any(d.digest == r.digest and d.annotations.get(REF_NAME) == r.tag for d in listed):
            return written
        self.writer.tag(
            Descriptor(r.media_type, r.digest, r.size, artifact_type=r.artifact_type), r.tag
        )
        return True

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

    carries_referrers = False

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
    *,
    referrers: bool = True,
) -> CopyReport:
    """Copy what ``source`` names (or its ``platform`` child) to ``dest``, with every
    referrer of what is copied unless ``referrers`` is False.

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
    # The image's blobs move while its referrers are looked up: the look-ups are a round
    # trip or two per manifest, and need none of the blobs.
    blobs = asyncio.ensure_future(_gather_all(one_blob(d) for d in plan.blobs.values()))
    attached: list[Found] = []
    try:
        if referrers and dest.carries_referrers:
            attached = await walk(source, [d for _, d in plan.manifests])
            extra = _Plan()
            for f in attached:
                await _walk(source, f.manifest, f.referrer.digest, extra, 0)
            more = [d for d in extra.blobs.values() if d.digest not in plan.blobs]
            for d in more:
                plan.blobs[d.digest] = d
            total += sum(d.size for d in more)
            # An index among the referrers brings children of its own: pushed before it.
            nested = {f.referrer.digest for f in attached}
            plan.manifests[-1:-1] = [(m, d) for m, d in extra.manifests if d not in nested]
            await _gather_all([blobs, *(one_blob(d) for d in more)])
        else:
            await blobs
    finally:
        if not blobs.done():
            blobs.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await blobs
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
    report.blobs = len(plan.blobs)
    report.manifests = len(plan.manifests)
    if progress is not None:
        progress(total, total)
    # Which manifests the destination has, asked all at once; then pushed children first.
    present = await asyncio.gather(*(dest.has_manifest(d) for _, d in plan.manifests))
    for (m, d), there in zip(plan.manifests, present, strict=True):
        is_top = d == digest
        if is_top:
            # Referrers go before the top manifest, so the tag still moves last.
            report.referrers = len(attached)
            for f in attached:
                if not await dest.put_referrer(f):
                    report.referrers_skipped += 1
        if there and not (is_top and dest.tag):
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
