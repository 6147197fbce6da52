"""Image -> digest lookups for admission: cached, shared in flight, and bounded in time.

An admission answer has a hard deadline, a registry has none. So every registry lookup
runs as its own task that outlives the request that started it: a request waits for
its lookups only until its deadline and then answers with what it has, while the lookup
goes on and fills the cache for the next request (the API server retries). Requests
that need the same image while a lookup is running wait on that same task, so a burst
of Pods from one rollout costs the registry one request.

The sharing is ``imgdigest.flights.Singleflight``, the resolver's own mechanism, used
through ``start``: the request gets the flight's task to wait on with its budget, and
the flight lands by itself (cache filled, errors counted once per lookup, not once
per waiting request).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterable
from dataclasses import dataclass

from imgdigest import platform as platforms
from imgdigest import reference as references
from imgdigest.errors import ImgdigestError, RegistryTimeoutError
from imgdigest.flights import Singleflight
from imgdigest.platform import Platform
from imgdigest.resolver import AsyncResolver, Resolution
from imgdigest.webhook.metrics import Metrics
from imgdigest.webhook.ttlcache import TTLCache

Outcome = Resolution | ImgdigestError


@dataclass(frozen=True, slots=True)
class _Key:
    reference: str
    platform: str | None


@functools.lru_cache(maxsize=4096)
def _parsed(image: str) -> tuple[references.Reference, str]:
    """Parsing a reference costs more than the rest of a cached lookup: remember it."""
    ref = references.normalize(image)
    return ref, str(ref)


class Lookup:
    """Resolves images for the webhook; one per process, used from one event loop."""

    def __init__(
        self,
        resolver: AsyncResolver,
        cache: TTLCache[Resolution],
        metrics: Metrics,
        platform: Platform | None = None,
    ) -> None:
        self.resolver = resolver
        self.cache = cache
        self.metrics = metrics
        self.platform = platform
        self._platform_text = platforms.format_all(platform) if platform else None
        self._flights: Singleflight[_Key, Resolution] = Singleflight()

    async def resolve_all(self, images: Iterable[str], timeout: float) -> dict[str, Outcome]:
        """Each image's resolution or error; those not answered within ``timeout`` time out."""
        out: dict[str, Outcome] = {}
        waiting: dict[str, asyncio.Task[Resolution]] = {}
        for image in dict.fromkeys(images):
            try:
                ref, text = _parsed(image)
            except ImgdigestError as exc:
                out[image] = exc
                continue
            key = _Key(text, self._platform_text)
            hit = self.cache.get(key)
            if hit is not None:
                self.metrics.cache_hits.inc()
                out[image] = hit
                continue
            self.metrics.cache_misses.inc()
            waiting[image] = self._flight(key, ref)
        if waiting:
            tasks = set(waiting.values())
            if timeout > 0:
                await asyncio.wait(tasks, timeout=timeout)
            for image, task in waiting.items():
                out[image] = self._outcome(image, task, timeout)
        return out

    def _flight(self, key: _Key, ref: references.Reference) -> asyncio.Task[Resolution]:
        return self._flights.start(
            key,
            lambda: self.resolver.resolve(ref, self.platform),
            lambda task: self._landed(key, ref, task),
        )

    def _landed(self, key: _Key, ref: references.Reference, task: asyncio.Task[Resolution]) -> None:
        if task.cancelled():
            return
        exc = task.exception()  # also marks it retrieved
        if exc is None:
            # Known by digest: the answer can never change; by tag: only for a while.
            self.cache.put(key, task.result(), permanent=ref.digest is not None)
        else:
            self.metrics.resolve_errors.labels(type(exc).__name__).inc()

    def _outcome(self, image: str, task: asyncio.Task[Resolution], timeout: float) -> Outcome:
        if not task.done():
            self.metrics.resolve_timeouts.inc()
            return RegistryTimeoutError(
                f"the registry did not answer within the {max(timeout, 0):.1f}s admission budget"
            )
        if task.cancelled():
            return RegistryTimeoutError("the lookup was cancelled")
        exc = task.exception()
        if exc is None:
            return task.result()
        if isinstance(exc, ImgdigestError):
            return exc
        return ImgdigestError(f"{image}: {type(exc).__name__} while resolving")

    async def aclose(self) -> None:
        self._flights.cancel_all()
        await self.resolver.aclose()
