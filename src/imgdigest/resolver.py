"""Resolve image references to digests: one at a time or many at once.

This is the heart of the library. A reference is normalized (``ubuntu`` ->
``docker.io/library/ubuntu:latest``), mapped through the mirror configuration to the
endpoints to ask, and answered with one HEAD. A platform is chosen only when asked:
without one, the digest is the one the tag names — the index, for a multi-arch image
— which is the digest a Kubernetes manifest should pin.

Batches are where the cost is: every repository of a registry shares one token
request, identical references are resolved once (concurrent callers share one
flight, see ``imgdigest.flights``), and requests run concurrently within the
transport's per-registry bound. Indexes and manifests are immutable, so their bytes
are cached by digest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from imgdigest import platform as platforms
from imgdigest import reference as references
from imgdigest.cache import ContentCache, SchemeCache
from imgdigest.errors import (
    AuthError,
    ForbiddenError,
    ImgdigestError,
    NetworkError,
    NotFoundError,
    PlatformNotFoundError,
    UnauthorizedError,
    UnsupportedError,
    VerificationError,
)
from imgdigest.flights import Singleflight
from imgdigest.media import Descriptor, Manifest, config_platform, is_index
from imgdigest.platform import Platform
from imgdigest.reference import Reference, api_host, pin_text
from imgdigest.registry.client import ManifestHead, RegistryClient
from imgdigest.registry.mirrors import Endpoint, Mirrors
from imgdigest.registry.options import RegistryOptions
from imgdigest.registry.transport import Transport

# Image configs are small JSON documents; anything larger is not a config.
MAX_CONFIG_BYTES = 8 * 1024 * 1024
# Nested indexes deeper than this are refused rather than followed forever.
MAX_INDEX_DEPTH = 4

T = TypeVar("T")


@dataclass(frozen=True)
class Child:
    """One entry of an index: a platform's manifest, or an attestation."""

    platform: Platform | None
    digest: str
    media_type: str
    size: int
    attestation: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": platforms.format_all(self.platform) if self.platform else None,
            "digest": self.digest,
            "media_type": self.media_type,
            "size": self.size,
            "attestation": self.attestation,
        }


@dataclass(frozen=True)
class Resolution:
    """The answer for one reference."""

    given: str
    reference: Reference | None  #: None for a local image (``oci:``, ``docker-archive:``)
    digest: str
    media_type: str
    size: int
    index_digest: str | None = None
    platform: Platform | None = None
    children: tuple[Child, ...] = ()
    endpoint: str = ""  # where it was answered (a mirror, or the registry itself)

    @property
    def is_index(self) -> bool:
        return is_index(self.media_type)

    @property
    def kind(self) -> str:
        """``index``, ``platform manifest`` or ``manifest`` — what the digest names."""
        if self.is_index:
            return "index"
        return "platform manifest" if self.index_digest else "manifest"

    def full_ref(self, keep_tag: bool = True) -> str:
        """``registry/repo:tag@digest`` in normalized form (a local image keeps its path)."""
        if self.reference is None:
            return f"{self.given.split('@', 1)[0]}@{self.digest}"
        ref = self.reference.without_digest()
        if not keep_tag:
            ref = ref.without_tag()
        return f"{ref}@{self.digest}"

    def pinned(self, keep_tag: bool = True) -> str:
        """The reference as the user wrote it, with this digest attached."""
        return pin_text(self.given, self.digest, keep_tag)

    def to_json(self) -> dict[str, Any]:
        ref = self.reference
        return {
            "reference": self.given,
            "name": ref.name if ref else None,
            "registry": ref.domain if ref else None,
            "repository": ref.path if ref else None,
            "tag": ref.tag if ref else None,
            "digest": self.digest,
            "kind": self.kind,
            "media_type": self.media_type,
            "size": self.size,
            "index_digest": self.index_digest,
            "platform": platforms.format_all(self.platform) if self.platform else None,
            "children": [c.to_json() for c in self.children] if self.children else None,
            "endpoint": self.endpoint,
        }


@dataclass(frozen=True)
class ResolveOptions:
    registry: RegistryOptions = field(default_factory=RegistryOptions)
    # Cache manifests by digest on disk (they are immutable).
    cache: bool = True
    cache_dir: str | Path | None = None
    # Seconds a tag's digest may be reused from the cache; None never reuses one.
    max_age: float | None = None
    # Also GET what a tag serves and hash it: a HEAD answer is only the registry's word
    # (its Docker-Content-Digest header). A mismatch raises VerificationError.
    verify: bool = False


class AsyncResolver:
    """Resolves references concurrently over one shared transport."""

    def __init__(
        self, options: ResolveOptions | None = None, transport: Transport | None = None
    ) -> None:
        self.options = options or ResolveOptions()
        self.cache = ContentCache(self.options.cache_dir) if self.options.cache else None
        schemes = SchemeCache(self.cache.root / "schemes.json") if self.cache else None
        self.transport = transport or Transport(self.options.registry, schemes=schemes)
        self.client = RegistryClient(self.transport)
        self.mirrors = Mirrors.load(self.options.registry.registries_conf)
        self._flights: Singleflight[tuple[Any, ...], Resolution] = Singleflight()

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def __aenter__(self) -> AsyncResolver:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- public --------------------------------------------------------------------

    async def resolve(
        self,
        ref: str | Reference,
        platform: str | Platform | None = None,
        children: bool = False,
    ) -> Resolution:
        """The digest of one reference (of its ``platform`` child when one is given)."""
        given = str(ref)
        parsed = ref if isinstance(ref, Reference) else references.normalize(given)
        wanted = platforms.parse(platform) if isinstance(platform, str) else platform
        key = ("resolve", str(parsed), platforms.format_all(wanted) if wanted else None, children)
        res = await self._flights.join(key, lambda: self._resolve(parsed, wanted, children))
        return replace(res, given=given) if res.given != given else res

    async def resolve_many(
        self,
        refs: Iterable[str | Reference],
        platform: str | Platform | None = None,
        children: bool = False,
        on_result: Callable[[int, Resolution | ImgdigestError], None] | None = None,
    ) -> list[Resolution | ImgdigestError]:
        """Resolve all, in input order; each failure is returned in its place.

        ``on_result(index, result)`` is called as each one finishes (for progress).
        """
        items = list(refs)
        parsed: list[Reference | ImgdigestError] = []
        for item in items:
            try:
                parsed.append(item if isinstance(item, Reference) else references.normalize(item))
            except ImgdigestError as exc:
                parsed.append(exc)
        await self._prepare([p for p in parsed if isinstance(p, Reference)])

        async def one(n: int, item: str | Reference, p: Reference | ImgdigestError) -> Any:
            result: Resolution | ImgdigestError
            if isinstance(p, ImgdigestError):
                result = p
            else:
                try:
                    result = replace(await self.resolve(p, platform, children), given=str(item))
                except ImgdigestError as exc:
                    result = exc
            if on_result is not None:
                on_result(n, result)
            return result

        pairs = enumerate(zip(items, parsed, strict=True))
        return list(await asyncio.gather(*(one(n, i, p) for n, (i, p) in pairs)))

    async def head(self, ref: Reference) -> tuple[ManifestHead, Endpoint]:
        """The HEAD answer for a reference, through mirrors, with the endpoint that gave it."""

        async def call(ep: Endpoint) -> tuple[ManifestHead, Endpoint]:
            return await self.client.head_manifest(ep, _target(ref)), ep

        return await self._first_endpoint(ref, call)

    async def manifest(self, ref: Reference, digest: str | None = None) -> tuple[Manifest, str]:
        """A manifest's verified bytes (cached by digest), and its digest."""
        if digest and self.cache is not None:
            hit = self.cache.get(digest)
            if hit is not None:
                return Manifest.parse(hit[0], hit[1], f"{ref.name}@{digest}"), digest
        manifest, got = await self._first_endpoint(
            ref, lambda ep: self.client.get_manifest(ep, digest or _target(ref), digest)
        )
        if self.cache is not None:
            self.cache.put(got, manifest.raw, manifest.media_type)
        return manifest, got

    async def config(self, ref: Reference, descriptor: Descriptor) -> bytes:
        """An image config blob, verified (and cached: it is immutable too)."""
        if self.cache is not None:
            hit = self.cache.get(descriptor.digest)
            if hit is not None:
                return hit[0]
        data = await self._first_endpoint(
            ref, lambda ep: self.client.get_blob(ep, descriptor.digest, MAX_CONFIG_BYTES)
        )
        if self.cache is not None:
            self.cache.put(descriptor.digest, data, descriptor.media_type)
        return data

    def endpoints(self, ref: Reference) -> list[Endpoint]:
        eps = self.mirrors.endpoints(ref.name, by_digest=ref.digest is not None)
        out = []
        for ep in eps:
            if ep.insecure:
                self.transport.declare_insecure(api_host(ep.host))
            out.append(replace(ep, host=api_host(ep.host)))
        return out

    # -- internals -----------------------------------------------------------------

    async def _prepare(self, refs: Sequence[Reference]) -> None:
        """One token request per registry for every repository the batch touches."""
        by_host: dict[str, set[str]] = {}
        for ref in refs:
            try:
                eps = self.endpoints(ref)
            except ImgdigestError:
                continue
            # Only the endpoint tried first: fallbacks are reached lazily, if ever.
            if eps:
                by_host.setdefault(eps[0].host, set()).add(eps[0].repository)
        results = await asyncio.gather(
            *(self.transport.prepare(h, repos) for h, repos in by_host.items()),
            return_exceptions=True,
        )
        for r in results:
            if isinstance(r, BaseException) and not isinstance(r, ImgdigestError):
                raise r  # a bug, not a registry answer; registry errors surface per reference

    async def _first_endpoint(self, ref: Reference, call: Callable[[Endpoint], Awaitable[T]]) -> T:
        """Ask each mirror in turn, then the registry itself; fail only when all failed.

        A mirror that lacks the image, refuses us (401/403) or cannot be reached is
        skipped. The error then names the reference once and says what each endpoint
        answered, so a mirror's own answer is not hidden behind the origin's.
        """
        endpoints = self.endpoints(ref)
        failures: list[tuple[Endpoint, ImgdigestError]] = []
        for ep in endpoints:
            try:
                return await call(ep)
            except (NotFoundError, NetworkError, AuthError) as exc:
                failures.append((ep, exc))
        raise _combined(str(ref), failures)

    async def _resolve(self, ref: Reference, wanted: Platform | None, children: bool) -> Resolution:
        head = None
        if (
            not self.options.verify
            and self.options.max_age is not None
            and self.cache is not None
            and ref.digest is None
            and ref.tag
        ):
            hit = self.cache.get_tag(ref.name, ref.tag, self.options.max_age)
            if hit is not None:
                head = ManifestHead(hit.digest, hit.media_type, hit.size)
        endpoint = ""
        if head is None:
            head, ep = await self.head(ref)
            endpoint = ep.name
            if self.options.verify and head.manifest is None:
                head = await self._verified(ref, head, ep)
            if head.manifest is not None and self.cache is not None:
                self.cache.put(head.digest, head.manifest.raw, head.manifest.media_type)
            if (
                self.options.max_age is not None
                and self.cache is not None
                and ref.tag
                and not ref.digest
            ):
                self.cache.put_tag(ref.name, ref.tag, head.digest, head.media_type, head.size)
        base = Resolution(
            given=str(ref),
            reference=ref,
            digest=head.digest,
            media_type=head.media_type,
            size=head.size,
            endpoint=endpoint,
        )
        if wanted is None:
            if children and is_index(head.media_type):
                manifest = head.manifest or (await self.manifest(ref, head.digest))[0]
                return replace(base, children=_children(manifest))
            return base
        return await self._select(ref, base, head, wanted)

    async def _verified(self, ref: Reference, head: ManifestHead, ep: Endpoint) -> ManifestHead:
        """``head`` once the bytes the same endpoint serves for ``ref`` hash to its digest."""
        manifest, actual = await self.client.get_manifest(ep, _target(ref))
        if actual != head.digest:
            raise VerificationError(
                f"{ref}: the registry announced {head.digest} but serves content that hashes "
                f"to {actual}"
            )
        return replace(head, manifest=manifest)

    async def _select(
        self, ref: Reference, base: Resolution, head: ManifestHead, wanted: Platform
    ) -> Resolution:
        manifest = head.manifest or (await self.manifest(ref, head.digest))[0]
        if manifest.is_index:
            found = await self._select_child(ref, head.digest, manifest, wanted, depth=0)
            child, index_digest = found
            return replace(
                base,
                digest=child.digest,
                media_type=child.media_type,
                size=child.size,
                index_digest=index_digest,
                platform=child.platform,
            )
        # A single-platform manifest: its config says which platform it is for.
        if manifest.config is None:
            raise PlatformNotFoundError(
                f"{ref}: {manifest.artifact_type or manifest.media_type} has no image config, "
                f"so it has no platform to match {platforms.format(wanted)}"
            )
        config = await self.config(ref, manifest.config)
        have = config_platform(config, f"{ref}@{head.digest}")
        if not platforms.only(wanted).match(have):
            raise PlatformNotFoundError(
                f"{ref}: single-platform image is {platforms.format(have)}, "
                f"not {platforms.format(wanted)}"
            )
        return replace(base, platform=have)

    async def _select_child(
        self, ref: Reference, digest: str, index: Manifest, wanted: Platform, depth: int
    ) -> tuple[Descriptor, str]:
        """Best platform child of an index; children that are indexes are searched too."""
        if depth >= MAX_INDEX_DEPTH:
            raise UnsupportedError(f"{ref}: indexes nested deeper than {MAX_INDEX_DEPTH} levels")
        where = f"{ref.without_digest()}@{digest}"
        try:
            child = _best_child(index, wanted, where)
        except PlatformNotFoundError:
            nested = [d for d in index.manifests if is_index(d.media_type) and d.platform is None]
            if not nested:
                raise
            for d in nested:
                inner, _ = await self.manifest(ref, d.digest)
                try:
                    found, _ = await self._select_child(ref, d.digest, inner, wanted, depth + 1)
                except PlatformNotFoundError:
                    continue
                return found, digest
            raise
        if is_index(child.media_type):
            inner, _ = await self.manifest(ref, child.digest)
            found, _ = await self._select_child(ref, child.digest, inner, wanted, depth + 1)
            return found, digest
        return child, digest


def _target(ref: Reference) -> str:
    """What to ask the registry for: the digest when there is one, else the tag."""
    if ref.digest:
        return ref.digest
    return ref.tag or "latest"


def _children(manifest: Manifest) -> tuple[Child, ...]:
    return tuple(
        Child(d.platform, d.digest, d.media_type, d.size, d.is_attestation)
        for d in manifest.manifests
    )


def _best_child(manifest: Manifest, wanted: Platform, where: str) -> Descriptor:
    candidates = [d for d in manifest.manifests if d.platform is not None and not d.is_attestation]
    idx = platforms.best_match(wanted, [d.platform for d in candidates if d.platform is not None])
    if idx is None:
        available = sorted({platforms.format(d.platform) for d in candidates if d.platform})
        listing = ", ".join(available) if available else "none"
        raise PlatformNotFoundError(
            f"{where}: no manifest for platform {platforms.format(wanted)}; available: {listing}"
        )
    return candidates[idx]


class Resolver:
    """A blocking facade over ``AsyncResolver`` for scripts and the CLI."""

    def __init__(self, options: ResolveOptions | None = None) -> None:
        self._loop = asyncio.new_event_loop()
        self._async = self._run(_make_async(options))

    def _run(self, coro: Awaitable[T]) -> T:
        return self._loop.run_until_complete(coro)

    @property
    def inner(self) -> AsyncResolver:
        return self._async

    def resolve(
        self, ref: str | Reference, platform: str | Platform | None = None, children: bool = False
    ) -> Resolution:
        return self._run(self._async.resolve(ref, platform, children))

    def resolve_many(
        self,
        refs: Iterable[str | Reference],
        platform: str | Platform | None = None,
        children: bool = False,
        on_result: Callable[[int, Resolution | ImgdigestError], None] | None = None,
    ) -> list[Resolution | ImgdigestError]:
        return self._run(self._async.resolve_many(refs, platform, children, on_result))

    def run(self, coro: Awaitable[T]) -> T:
        """Run another coroutine on this resolver's loop (shares connections and tokens)."""
        return self._run(coro)

    def close(self) -> None:
        if not self._loop.is_closed():
            self._run(self._async.aclose())
            self._loop.close()

    def __enter__(self) -> Resolver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _make_async(options: ResolveOptions | None) -> AsyncResolver:
    # Created inside the loop so its locks and semaphores bind to it.
    return AsyncResolver(options)


def resolve(
    ref: str,
    platform: str | Platform | None = None,
    *,
    options: ResolveOptions | None = None,
) -> Resolution:
    """Resolve one reference with a throwaway resolver (see ``Resolver`` for many)."""
    with Resolver(options) as r:
        return r.resolve(ref, platform)


def run_with_resolver(
    options: ResolveOptions | None, work: Callable[[AsyncResolver], Awaitable[T]]
) -> T:
    """Run ``work`` with a resolver on a fresh event loop, and close both.

    ``asyncio.run`` cancels and awaits every pending request when the run is
    interrupted (Ctrl-C, or SIGTERM turned into an interrupt), so an interrupted job
    stops cleanly instead of leaving half-open connections to be collected noisily.
    """

    async def main() -> T:
        async with AsyncResolver(options) as resolver:
            return await work(resolver)

    return asyncio.run(main())


_HEADLINES: tuple[tuple[type[ImgdigestError], str], ...] = (
    (NotFoundError, "not found"),
    (UnauthorizedError, "unauthorized"),
    (ForbiddenError, "access denied"),
    (AuthError, "credentials refused"),
    (NetworkError, "unreachable"),
)


def _combined(reference: str, failures: list[tuple[Endpoint, ImgdigestError]]) -> ImgdigestError:
    """One error naming ``reference`` once; with mirrors, what each endpoint said.

    The kind (and exit code) is that of the registry itself if it answered, else of
    the first mirror that answered, else a network error: an answer beats silence.
    """
    ep, last = failures[-1]
    if len(failures) == 1:
        # An error about the reference drops its own copy of the name; one about the
        # host (cannot reach it, did not answer) keeps the host in its words.
        reason = last.reason if last.reference else str(last)
        return type(last)(
            f"{reference}: {reason}", reference=reference, host=ep.host, reason=reason
        )
    answered = [e for _, e in failures if not isinstance(e, NetworkError)]
    chosen = last if not isinstance(last, NetworkError) else (answered or [last])[0]
    parts = []
    for ep, exc in failures:
        label = f"mirror {ep.host}" if ep.mirror else ep.host
        said = ": " if isinstance(exc, NetworkError) else " said "
        parts.append(f"{label}{said}{exc.reason}")
    headline = next((h for cls, h in _HEADLINES if isinstance(chosen, cls)), "failed")
    reason = f"{headline}: " + "; ".join(parts)
    return type(chosen)(
        f"{reference}: {reason}", reference=reference, host=failures[-1][0].host, reason=reason
    )
