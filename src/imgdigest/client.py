"""The public sessions: every job of the command line as a method, async and blocking.

An :class:`AsyncClient` is one session: one transport (connections, tokens, the
``/v2/`` answers), one content cache and one in-flight table shared by every call, so a
program that resolves, inspects and copies pays for each registry's login once. A
:class:`Client` runs the same methods on an event loop of its own, for scripts and
notebooks. Both take a reference in any form a user types: a registry reference, or a
local image (``oci:DIR[:TAG]``, ``docker-archive:FILE[:REF]``).

Results are the library's typed objects; each has a ``to_json()`` that the command
line's ``--format json`` prints, so a program and the CLI read the same fields.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from imgdigest import platform as platforms
from imgdigest import reference as references
from imgdigest.errors import ImgdigestError, UsageError
from imgdigest.platform import Platform
from imgdigest.reference import Reference, is_local
from imgdigest.resolver import AsyncResolver, Resolution, ResolveOptions

# Everything past resolving loads on first use: ``digest`` does not pay for the image
# walk, the YAML readers or the upload code, nor ``pin`` for the image walk.
if TYPE_CHECKING:
    from pathlib import Path

    from imgdigest.audit import AuditOptions, AuditReport
    from imgdigest.check import CheckOptions, CheckReport, Verifier, Violation
    from imgdigest.copy import CopyReport
    from imgdigest.documents import FinderOptions, ImageSite
    from imgdigest.drift import DriftReport
    from imgdigest.inspect import ImageConfig, ImageTree, LayerList, ManifestInfo, TagList
    from imgdigest.krm import KrmResult, KrmSettings
    from imgdigest.layerfiles import FileEntry
    from imgdigest.lock import LockReport
    from imgdigest.pin import ChartPlan, PinOptions, PinPlan
    from imgdigest.referrers import ReferrerList
    from imgdigest.registry.tags import TagPage
    from imgdigest.signatures import SignResult, VerifyReport
    from imgdigest.sources import ImageSource
    from imgdigest.tagsof import TagsOf

T = TypeVar("T")
PlatformSpec = str | Platform | None
#: Tags asked for per page (the registry may send fewer).
PAGE_SIZE = 1000


@dataclass(frozen=True)
class LayerFile:
    """One entry of a layer's tar stream, with the layer it is in."""

    layer: int
    layer_digest: str
    entry: FileEntry

    def to_json(self) -> dict[str, Any]:
        return {"layer": self.layer, **self.entry.to_json()}


@dataclass
class LayerFiles:
    """The image and layers chosen, and their entries as they stream (iterate once)."""

    image: LayerList
    _entries: Iterator[LayerFile]

    def __iter__(self) -> Iterator[LayerFile]:
        return self._entries


@dataclass
class AsyncLayerFiles:
    """:class:`LayerFiles` for ``async for``."""

    image: LayerList
    _entries: AsyncIterator[LayerFile]

    def __aiter__(self) -> AsyncIterator[LayerFile]:
        return self._entries


def _platform(spec: PlatformSpec) -> Platform | None:
    return platforms.parse(spec) if isinstance(spec, str) else spec


class AsyncClient:
    """Every job over one shared session; use as ``async with AsyncClient() as c``."""

    def __init__(
        self, options: ResolveOptions | None = None, *, resolver: AsyncResolver | None = None
    ) -> None:
        self.options = options or ResolveOptions()
        self._resolver = resolver
        self._owned = resolver is None

    @property
    def resolver(self) -> AsyncResolver:
        """The resolver behind this session (created on first use, inside the loop)."""
        if self._resolver is None:
            self._resolver = AsyncResolver(self.options)
        return self._resolver

    async def aclose(self) -> None:
        if self._resolver is not None and self._owned:
            await self._resolver.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @asynccontextmanager
    async def source(self, ref: str) -> AsyncIterator[ImageSource]:
        """Where ``ref`` lives (registry, layout or archive), closed after use."""
        from imgdigest.sources import open_source

        src = open_source(ref, self.resolver)
        try:
            yield src
        finally:
            await src.aclose()

    # -- digests ----------------------------------------------------------------------

    async def resolve(
        self, ref: str | Reference, platform: PlatformSpec = None, *, children: bool = False
    ) -> Resolution:
        """The digest ``ref`` names (of its ``platform`` child when one is given)."""
        if isinstance(ref, str) and is_local(ref):
            from imgdigest.inspect import resolve_local

            async with self.source(ref) as src:
                return await resolve_local(src, ref, _platform(platform), children)
        return await self.resolver.resolve(ref, platform, children)

    async def resolve_many(
        self,
        refs: Iterable[str | Reference],
        platform: PlatformSpec = None,
        *,
        children: bool = False,
    ) -> list[Resolution | ImgdigestError]:
        """Every reference's answer in input order, each failure in its place.

        Registry references share one token request per registry; local ones are read
        from their layouts and archives.
        """
        items = list(refs)
        remote = [n for n, r in enumerate(items) if not (isinstance(r, str) and is_local(r))]
        answers: list[Resolution | ImgdigestError | None] = [None] * len(items)
        if remote:
            got = await self.resolver.resolve_many([items[n] for n in remote], platform, children)
            for n, answer in zip(remote, got, strict=True):
                answers[n] = answer
        for n, item in enumerate(items):
            if answers[n] is not None:
                continue
            try:
                answers[n] = await self.resolve(item, platform, children=children)
            except ImgdigestError as exc:
                answers[n] = exc
        return answers  # type: ignore[return-value]  # every slot was filled above

    # -- inspecting -------------------------------------------------------------------

    async def manifest(self, ref: str, platform: PlatformSpec = None) -> ManifestInfo:
        """The manifest or index ``ref`` names, byte for byte (a platform's, if given)."""
        from imgdigest.explore import select
        from imgdigest.inspect import ManifestInfo

        async with self.source(ref) as src:
            return ManifestInfo.of(ref, await select(src, platform, need_image=False))

    async def config(self, ref: str, platform: PlatformSpec = None) -> ImageConfig:
        """An image's config; an index without ``platform`` gives this machine's."""
        from imgdigest.explore import config_bytes, select
        from imgdigest.inspect import ImageConfig

        async with self.source(ref) as src:
            sel = await select(src, platform)
            raw = await config_bytes(src, sel.manifest, sel.digest)
        cfg = sel.manifest.config
        digest = cfg.digest if cfg is not None else ""
        return ImageConfig(ref, sel.digest, digest, raw, sel.platform, sel.defaulted)

    async def layers(self, ref: str, platform: PlatformSpec = None) -> LayerList:
        """An image's layers with the diff_ids its config records."""
        from imgdigest.explore import layers, select
        from imgdigest.inspect import LayerList

        async with self.source(ref) as src:
            sel = await select(src, platform)
            rows = await layers(src, sel)
        return LayerList(ref, sel.digest, rows, sel.platform, sel.defaulted)

    async def tree(self, ref: str, *, referrers: bool = True) -> ImageTree:
        """Everything below ``ref``: index, platform manifests, configs and layers, and
        what refers to each manifest (signatures, attestations, SBOMs) unless
        ``referrers=False``."""
        from imgdigest.explore import tree
        from imgdigest.inspect import ImageTree

        async with self.source(ref) as src:
            return ImageTree(ref, await tree(src, referrers))

    async def blob(self, ref: str) -> AsyncIterator[bytes]:
        """A blob's bytes as they arrive (``NAME@DIGEST`` or ``oci:DIR@DIGEST``).

        The stream is hashed as it goes and raises ``VerificationError`` at its end when
        the bytes do not match: keep what it gave only once it ended cleanly.
        """
        digest = blob_digest(ref)
        async with self.source(ref) as src:
            async for chunk in src.stream(digest):
                yield chunk

    async def files(
        self, ref: str, platform: PlatformSpec = None, layer: str | None = None
    ) -> AsyncLayerFiles:
        """The entries of an image's layers (or of one: an index, or a digest prefix).

        The image and its layers are looked up now (``.image`` says which were chosen);
        the layers are streamed and verified as the result is iterated, never stored.
        The tar parsing runs in a worker thread so the event loop keeps serving.
        """
        from imgdigest.explore import layers, pick_layers, select
        from imgdigest.inspect import LayerList
        from imgdigest.sources import open_source

        src = open_source(ref, self.resolver)
        try:
            sel = await select(src, platform)
            chosen = pick_layers(await layers(src, sel), layer, ref)
        except BaseException:
            await src.aclose()
            raise

        async def walk() -> AsyncIterator[LayerFile]:
            try:
                for lay in chosen:
                    digest = lay.descriptor.digest
                    async for entry in _parsed(src.stream(digest), src.at(digest)):
                        yield LayerFile(lay.index, digest, entry)
            finally:
                await src.aclose()

        image = LayerList(ref, sel.digest, chosen, sel.platform, sel.defaulted)
        return AsyncLayerFiles(image, walk())

    async def tags(self, repository: str, *, page_size: int | None = PAGE_SIZE) -> TagList:
        """Every tag of a registry repository, following the registry's pages."""
        from imgdigest.inspect import TagList
        from imgdigest.registry.tags import merge_manifests

        names: list[str] = []
        manifests: dict[str, dict[str, Any]] = {}
        async for page in self.tag_pages(repository, page_size=page_size):
            names.extend(page.tags)
            merge_manifests(manifests, page)
        return TagList(_repository(repository).name, names, manifests)

    def tag_pages(
        self, repository: str, *, page_size: int | None = PAGE_SIZE
    ) -> AsyncIterator[TagPage]:
        """The tag list page by page, as the registry sends it (for very long lists)."""
        from imgdigest.registry.tags import list_tags
        from imgdigest.tagsof import registry_endpoint

        endpoint = registry_endpoint(self.resolver, _repository(repository))
        return list_tags(self.resolver.transport, endpoint, page_size)

    async def tags_of(self, ref: str) -> TagsOf:
        """The tags of ``NAME@DIGEST``'s repository that name the digest, or an index holding it."""
        from imgdigest.tagsof import tags_of

        parsed = references.parse_normalized(ref)
        if not parsed.digest:
            raise UsageError(f"{ref}: give the digest to look for: NAME@sha256:...")
        found = await tags_of(self.resolver, parsed, parsed.digest)
        return replace(found, reference=ref, digest=parsed.digest)

    async def referrers(self, ref: str, *, artifact_type: str | None = None) -> ReferrerList:
        """What is attached to the digest ``ref`` names: signatures, attestations, SBOMs
        (the referrers API, else the referrers tag schema, and cosign's tags)."""
        from imgdigest.referrers import list_referrers

        async with self.source(ref) as src:
            return await list_referrers(src, ref, artifact_type)

    # -- moving -------------------------------------------------------------------------

    async def copy(
        self,
        src: str,
        dst: str,
        platform: PlatformSpec = None,
        *,
        chunk_size: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        referrers: bool = True,
    ) -> CopyReport:
        """Copy an image or a whole index by digest (or only ``platform``'s manifest), with
        what refers to it (signatures, attestations, SBOMs) unless ``referrers=False``.

        ``chunk_size`` bounds each upload request (default: the whole blob in one when
        the registry allows it, else 16 MiB chunks)."""
        from imgdigest.copy import DEFAULT_CHUNK_SIZE, copy, open_destination

        if chunk_size is not None and chunk_size <= 0:
            raise UsageError("chunk size must be positive")
        async with self.source(src) as source:
            dest = open_destination(dst, self.resolver, chunk_size or DEFAULT_CHUNK_SIZE)
            return await copy(source, dest, _platform(platform), progress, referrers=referrers)

    # -- signatures ---------------------------------------------------------------------

    async def verify(
        self,
        ref: str,
        key: str,
        *,
        identity: str | None = None,
        attestations: bool = False,
    ) -> VerifyReport:
        """Judge the cosign signatures (or attestations) of the digest ``ref`` resolves to.

        ``key`` is a PEM public key file; the report's ``error()`` says why it is not
        signed, if it is not."""
        from imgdigest.signatures.keys import load_public_key
        from imgdigest.signatures.verify import verify_reference

        public = load_public_key(key)
        return await verify_reference(
            self.resolver, ref, public, key_name=key, identity=identity, attestations=attestations
        )

    async def sign(
        self,
        ref: str,
        key: str,
        password: bytes,
        *,
        annotations: dict[str, str] | None = None,
    ) -> SignResult:
        """Sign the digest ``ref`` resolves to with a cosign private key file, as cosign does."""
        from imgdigest.signatures.keys import load_private_key
        from imgdigest.signatures.verify import sign_reference

        private = load_private_key(key, password)
        return await sign_reference(self.resolver, ref, private, annotations=annotations)

    # -- files --------------------------------------------------------------------------

    async def pin(
        self,
        paths: Iterable[str],
        options: PinOptions | None = None,
        *,
        finder: FinderOptions | None = None,
    ) -> PinPlan:
        """Plan the pins of the images under ``paths``; ``plan.write()`` applies them."""
        from imgdigest.documents import DEFAULT_OPTIONS, find_images
        from imgdigest.pin import DEFAULT_PIN, plan_scans

        options, finder = options or DEFAULT_PIN, finder or DEFAULT_OPTIONS
        scans = list(find_images(paths, finder))
        return await plan_scans(scans, options, self._online(options), finder=finder)

    async def pin_text(
        self,
        text: str,
        file: str = "-",
        options: PinOptions | None = None,
        *,
        finder: FinderOptions | None = None,
    ) -> PinPlan:
        """Plan the pins of one text; ``file`` (its name) decides which reader reads it."""
        from imgdigest.documents import DEFAULT_OPTIONS, scan_text
        from imgdigest.pin import DEFAULT_PIN, plan_scans

        options, finder = options or DEFAULT_PIN, finder or DEFAULT_OPTIONS
        scans = [scan_text(text, file, options=finder)]
        return await plan_scans(scans, options, self._online(options), finder=finder)

    async def pin_resources(
        self,
        text: str,
        settings: KrmSettings | None = None,
        *,
        config: str | Path | None = None,
        base: str | Path | None = None,
    ) -> KrmResult:
        """Pin a kustomize transformer's input (a ResourceList, or a stream with ``config``)."""
        from imgdigest.krm import plan_resources

        return await plan_resources(text, settings, self.resolver, config=config, base=base)

    async def drift(
        self,
        paths: Iterable[str],
        *,
        offline: bool = False,
        finder: FinderOptions | None = None,
    ) -> DriftReport:
        """Unpinned images, pins whose tag moved, and pinned digests no longer there."""
        from imgdigest.documents import DEFAULT_OPTIONS, find_images
        from imgdigest.drift import drift_scans

        scans = list(find_images(paths, finder or DEFAULT_OPTIONS))
        return await drift_scans(scans, None if offline else self.resolver)

    async def lock(
        self,
        paths: Iterable[str],
        *,
        platform: str | None = None,
        finder: FinderOptions | None = None,
    ) -> LockReport:
        """What every tag under ``paths`` resolves to now, as a lock file's entries."""
        from imgdigest.documents import DEFAULT_OPTIONS, find_images
        from imgdigest.lock import LockReport, lock_scans

        if platform:
            platforms.parse(platform)
        scans = list(find_images(paths, finder or DEFAULT_OPTIONS))
        found, failures = await lock_scans(scans, self.resolver, platform)
        return LockReport(found, failures, scans)

    async def check(
        self, paths: Iterable[str], options: CheckOptions | None = None
    ) -> CheckReport:
        """``check`` over files; with ``options.verify`` digests are asked of the registry
        (and with ``options.key``, signatures) through this session's resolver."""
        from imgdigest.check import CheckOptions, check_paths

        options = options or CheckOptions()
        verifier = self._verifier(options)
        if verifier is None:
            return check_paths(paths, options)
        return await asyncio.to_thread(check_paths, list(paths), options, verifier=verifier)

    def _verifier(self, options: CheckOptions) -> Verifier | None:
        """``options``' registry questions for a worker thread, answered on this loop by
        this session's resolver."""
        from imgdigest.check import async_verifier_for

        asked = async_verifier_for(options)
        if asked is None:
            return None
        loop = asyncio.get_running_loop()
        resolver = self.resolver

        def verifier(sites: list[ImageSite]) -> Iterator[Violation]:
            return iter(asyncio.run_coroutine_threadsafe(asked(sites, resolver), loop).result())

        return verifier

    async def pin_chart(
        self,
        chart: str | Path,
        values: Sequence[str | Path] = (),
        set_values: Sequence[str] = (),
        options: PinOptions | None = None,
        *,
        release: str = "release",
    ) -> ChartPlan:
        """Render a Helm chart, pin the values its images come from, prove it by rendering."""
        from imgdigest.pin import DEFAULT_PIN, plan_chart

        options = options or DEFAULT_PIN
        resolver = self._online(options)
        return await plan_chart(chart, values, set_values, options, resolver, release=release)

    async def check_chart(
        self,
        chart: str | Path,
        values: Sequence[str | Path] = (),
        set_values: Sequence[str] = (),
        options: CheckOptions | None = None,
        *,
        release: str = "release",
    ) -> CheckReport:
        """``check`` of what a Helm chart renders, each finding at the values line feeding it
        (with ``options.verify``, asked of the registry through this session)."""
        from imgdigest.check import CheckOptions
        from imgdigest.pin import check_chart

        options = options or CheckOptions()
        return await asyncio.to_thread(
            check_chart,
            chart,
            values,
            set_values,
            options,
            release=release,
            verifier=self._verifier(options),
        )

    async def audit(
        self, paths: Iterable[str], options: AuditOptions | None = None
    ) -> AuditReport:
        """What the pods in kubectl's JSON (``-``: stdin) run, per workload, with findings."""
        from imgdigest.audit import AuditOptions, audit_inventory
        from imgdigest.audit.inventory import read_inventory

        options = options or AuditOptions()
        inventory = await asyncio.to_thread(read_inventory, list(paths))
        return await audit_inventory(inventory, None if options.offline else self.resolver, options)

    def _online(self, options: PinOptions) -> AsyncResolver | None:
        return None if options.offline else self.resolver


class Client:
    """The blocking face of :class:`AsyncClient`: the same methods, on a loop of its own.

    ``files`` and ``blob`` return iterators; consume them before the next call.
    """

    def __init__(self, options: ResolveOptions | None = None) -> None:
        self._loop = asyncio.new_event_loop()
        self.aio = AsyncClient(options)
        self.run(_started(self.aio))  # its locks and semaphores bind to this loop

    def run(self, coro: Awaitable[T]) -> T:
        """Run a coroutine of this session (an ``AsyncClient`` method) to its end."""
        return self._loop.run_until_complete(coro)

    def close(self) -> None:
        if not self._loop.is_closed():
            self.run(self.aio.aclose())
            self._loop.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def resolve(
        self, ref: str | Reference, platform: PlatformSpec = None, *, children: bool = False
    ) -> Resolution:
        return self.run(self.aio.resolve(ref, platform, children=children))

    def resolve_many(
        self,
        refs: Iterable[str | Reference],
        platform: PlatformSpec = None,
        *,
        children: bool = False,
    ) -> list[Resolution | ImgdigestError]:
        return self.run(self.aio.resolve_many(refs, platform, children=children))

    def manifest(self, ref: str, platform: PlatformSpec = None) -> ManifestInfo:
        return self.run(self.aio.manifest(ref, platform))

    def config(self, ref: str, platform: PlatformSpec = None) -> ImageConfig:
        return self.run(self.aio.config(ref, platform))

    def layers(self, ref: str, platform: PlatformSpec = None) -> LayerList:
        return self.run(self.aio.layers(ref, platform))

    def tree(self, ref: str, *, referrers: bool = True) -> ImageTree:
        return self.run(self.aio.tree(ref, referrers=referrers))

    def blob(self, ref: str) -> Iterator[bytes]:
        """A blob's verified bytes; the download runs ahead of the reader in a thread."""
        from imgdigest.sources.base import prefetch_iter

        return prefetch_iter(self.run, self.aio.blob(ref))

    def files(
        self, ref: str, platform: PlatformSpec = None, layer: str | None = None
    ) -> LayerFiles:
        """The entries of an image's layers; the download runs ahead in a thread while
        this one decompresses and parses (the two overlap on two cores)."""
        from imgdigest.explore import layers, pick_layers, select
        from imgdigest.inspect import LayerList
        from imgdigest.layerfiles import entries
        from imgdigest.sources import open_source
        from imgdigest.sources.base import prefetch_iter

        src = open_source(ref, self.aio.resolver)
        try:
            sel = self.run(select(src, platform))
            chosen = pick_layers(self.run(layers(src, sel)), layer, ref)
        except BaseException:
            self.run(src.aclose())
            raise

        def walk() -> Iterator[LayerFile]:
            try:
                for lay in chosen:
                    digest = lay.descriptor.digest
                    chunks = prefetch_iter(self.run, src.stream(digest))
                    for entry in entries(chunks, src.at(digest)):
                        yield LayerFile(lay.index, digest, entry)
            finally:
                self.run(src.aclose())

        image = LayerList(ref, sel.digest, chosen, sel.platform, sel.defaulted)
        return LayerFiles(image, walk())

    def tags(self, repository: str, *, page_size: int | None = PAGE_SIZE) -> TagList:
        return self.run(self.aio.tags(repository, page_size=page_size))

    def tag_pages(self, repository: str, *, page_size: int | None = PAGE_SIZE) -> Iterator[TagPage]:
        from imgdigest.sources.base import sync_iter

        return sync_iter(self.run, self.aio.tag_pages(repository, page_size=page_size))

    def tags_of(self, ref: str) -> TagsOf:
        return self.run(self.aio.tags_of(ref))

    def referrers(self, ref: str, *, artifact_type: str | None = None) -> ReferrerList:
        return self.run(self.aio.referrers(ref, artifact_type=artifact_type))

    def copy(
        self,
        src: str,
        dst: str,
        platform: PlatformSpec = None,
        *,
        chunk_size: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        referrers: bool = True,
    ) -> CopyReport:
        return self.run(
            self.aio.copy(
                src, dst, platform, chunk_size=chunk_size, progress=progress, referrers=referrers
            )
        )

    def verify(
        self,
        ref: str,
        key: str,
        *,
        identity: str | None = None,
        attestations: bool = False,
    ) -> VerifyReport:
        return self.run(self.aio.verify(ref, key, identity=identity, attestations=attestations))

    def sign(
        self,
        ref: str,
        key: str,
        password: bytes,
        *,
        annotations: dict[str, str] | None = None,
    ) -> SignResult:
        return self.run(self.aio.sign(ref, key, password, annotations=annotations))

    def pin(
        self,
        paths: Iterable[str],
        options: PinOptions | None = None,
        *,
        finder: FinderOptions | None = None,
    ) -> PinPlan:
        return self.run(self.aio.pin(paths, options, finder=finder))

    def pin_text(
        self,
        text: str,
        file: str = "-",
        options: PinOptions | None = None,
        *,
        finder: FinderOptions | None = None,
    ) -> PinPlan:
        return self.run(self.aio.pin_text(text, file, options, finder=finder))

    def pin_resources(
        self,
        text: str,
        settings: KrmSettings | None = None,
        *,
        config: str | Path | None = None,
        base: str | Path | None = None,
    ) -> KrmResult:
        return self.run(self.aio.pin_resources(text, settings, config=config, base=base))

    def drift(
        self,
        paths: Iterable[str],
        *,
        offline: bool = False,
        finder: FinderOptions | None = None,
    ) -> DriftReport:
        return self.run(self.aio.drift(paths, offline=offline, finder=finder))

    def lock(
        self,
        paths: Iterable[str],
        *,
        platform: str | None = None,
        finder: FinderOptions | None = None,
    ) -> LockReport:
        return self.run(self.aio.lock(paths, platform=platform, finder=finder))

    def check(self, paths: Iterable[str], options: CheckOptions | None = None) -> CheckReport:
        return self.run(self.aio.check(paths, options))

    def pin_chart(
        self,
        chart: str | Path,
        values: Sequence[str | Path] = (),
        set_values: Sequence[str] = (),
        options: PinOptions | None = None,
        *,
        release: str = "release",
    ) -> ChartPlan:
        return self.run(self.aio.pin_chart(chart, values, set_values, options, release=release))

    def check_chart(
        self,
        chart: str | Path,
        values: Sequence[str | Path] = (),
        set_values: Sequence[str] = (),
        options: CheckOptions | None = None,
        *,
        release: str = "release",
    ) -> CheckReport:
        return self.run(self.aio.check_chart(chart, values, set_values, options, release=release))

    def audit(self, paths: Iterable[str], options: AuditOptions | None = None) -> AuditReport:
        return self.run(self.aio.audit(paths, options))


def resolve(
    ref: str | Reference,
    platform: PlatformSpec = None,
    *,
    options: ResolveOptions | None = None,
) -> Resolution:
    """The digest of one reference, registry or local, with a throwaway session."""
    with Client(options) as client:
        return client.resolve(ref, platform)


async def _started(client: AsyncClient) -> AsyncResolver:
    return client.resolver


def blob_digest(ref: str) -> str:
    """The digest a blob reference names; a blob has no tag to resolve."""
    if is_local(ref):
        _, at, digest = ref.rpartition("@")
        if not at or not digest:
            raise UsageError(f"{ref}: name the blob by digest (oci:DIR@sha256:...)")
        return digest
    parsed = references.normalize(ref)
    if not parsed.digest:
        raise UsageError(f"{ref}: a blob is named by digest: NAME@sha256:...")
    return parsed.digest


def _repository(text: str) -> Reference:
    ref = references.parse_normalized(text)
    if ref.tag or ref.digest:
        raise UsageError(f"{text}: name a repository, without tag or digest")
    return ref


_END = object()


async def _parsed(chunks: AsyncIterator[bytes], where: str) -> AsyncIterator[FileEntry]:
    """Parse a layer's tar stream in a worker thread, fed from the loop as it downloads."""
    from imgdigest.layerfiles import entries

    loop = asyncio.get_running_loop()
    feed: queue.Queue[object] = queue.Queue(32)
    out: asyncio.Queue[object] = asyncio.Queue(256)
    stop = threading.Event()

    def fed() -> Iterator[bytes]:
        while (item := feed.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]

    def work() -> None:
        try:
            for entry in entries(fed(), where):
                if stop.is_set():
                    return
                asyncio.run_coroutine_threadsafe(out.put(entry), loop).result()
            result: object = _END
        except BaseException as exc:
            result = exc
        if not stop.is_set():
            asyncio.run_coroutine_threadsafe(out.put(result), loop).result()

    async def pump() -> None:
        try:
            async for chunk in chunks:
                while not stop.is_set():
                    try:
                        feed.put_nowait(chunk)
                        break
                    except queue.Full:
                        await asyncio.sleep(0.002)
            item: object = _END
        except BaseException as exc:  # a verification failure ends the parse with it
            item = exc
        while not stop.is_set():
            try:
                feed.put_nowait(item)
                return
            except queue.Full:
                await asyncio.sleep(0.002)

    worker = loop.run_in_executor(None, work)
    feeder = asyncio.ensure_future(pump())
    try:
        while (item := await out.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        feeder.cancel()
        while True:  # unblock the worker, whichever queue it waits on
            try:
                feed.put_nowait(_END)
                break
            except queue.Full:
                feed.get_nowait()
        while not out.empty():
            out.get_nowait()
        await asyncio.gather(feeder, return_exceptions=True)
        await worker
