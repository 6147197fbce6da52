"""An image in a registry, reached through the resolver (mirrors, cache, shared tokens).

Manifests go through ``AsyncResolver.manifest`` so they share its cache by digest;
blobs are fetched from the first endpoint that has them, mirrors first, exactly as a
pull would. A connection that drops in the middle of a blob becomes a
``NetworkError`` naming the blob and how far it got, never an HTTP client exception.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from imgdigest.errors import AuthError, NetworkError, NotFoundError
from imgdigest.media import Manifest
from imgdigest.reference import Reference
from imgdigest.registry.mirrors import Endpoint
from imgdigest.resolver import AsyncResolver
from imgdigest.sources.base import MAX_DOCUMENT_BYTES, ImageSource

T = TypeVar("T")


class RegistrySource(ImageSource):
    """``registry/repository[:tag][@digest]``."""

    def __init__(self, resolver: AsyncResolver, ref: Reference, given: str = "") -> None:
        self.resolver = resolver
        self.ref = ref
        self.where = given or str(ref)
        self.tag = ref.tag
        self.digest = ref.digest

    def at(self, digest: str) -> str:
        return f"{self.ref.name}@{digest}"

    async def top(self) -> tuple[Manifest, str]:
        return await self.resolver.manifest(self.ref, self.ref.digest)

    async def manifest(self, digest: str) -> Manifest:
        manifest, _ = await self.resolver.manifest(self.ref, digest)
        return manifest

    async def blob(self, digest: str, max_bytes: int = MAX_DOCUMENT_BYTES) -> bytes:
        return await self._endpoints(
            lambda ep: self.resolver.client.get_blob(ep, digest, max_bytes)
        )

    async def stream(self, digest: str) -> AsyncIterator[bytes]:
        endpoints = self.resolver.endpoints(self.ref)
        for i, ep in enumerate(endpoints):
            received = 0
            try:
                async for chunk in self.resolver.client.stream_blob(ep, digest):
                    received += len(chunk)
                    yield chunk
                return
            except (NotFoundError, NetworkError, AuthError) as exc:
                # A mirror that lacks the blob is skipped, but only before any byte arrived.
                if ep.mirror and not received and i < len(endpoints) - 1:
                    continue
                if received and digest not in str(exc):
                    raise NetworkError(
                        f"{ep.name}@{digest}: connection lost after {received} bytes: {exc}"
                    ) from None
                raise

    async def _endpoints(self, call: Callable[[Endpoint], Awaitable[T]]) -> T:
        """Mirrors first, then the registry, with the resolver's combined error."""
        return await self.resolver._first_endpoint(self.ref, call)
