"""Signature verdicts for many images at once: ``check --verify --key`` and the webhook.

Each distinct digest is verified once per run, concurrently, and the verdict is kept in a
``VerdictCache`` keyed by (digest, key, identity): content by digest never changes, so a
verdict never goes stale except when signatures are *added* - which is why only valid
verdicts are kept for long, and a "not signed" verdict is asked again after ``negative_ttl``.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass

from imgdigest import reference as references
from imgdigest.errors import ImgdigestError
from imgdigest.resolver import AsyncResolver
from imgdigest.signatures import keys
from imgdigest.signatures.verify import VerifyReport, verify_digest


@dataclass(frozen=True)
class Verdict:
    """One digest's answer: None when signed, else the reason it is not (or could not be)."""

    problem: str | None
    unverified: bool = False  #: the registry could not be asked (not a signature verdict)


class VerdictCache:
    """Verdicts by (digest, key fingerprint, identity), bounded, with hit/miss counts."""

    def __init__(self, size: int = 10_000, negative_ttl: float = 60.0) -> None:
        self.size = size
        self.negative_ttl = negative_ttl
        self._items: OrderedDict[tuple[str, str, str], tuple[Verdict, float]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[str, str, str]) -> Verdict | None:
        item = self._items.get(key)
        if item is None or (item[0].problem is not None and item[1] < time.monotonic()):
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return item[0]

    def put(self, key: tuple[str, str, str], verdict: Verdict) -> None:
        if verdict.unverified:
            return  # a failure to ask says nothing about the digest
        self._items[key] = (verdict, time.monotonic() + self.negative_ttl)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


def fingerprint(key: keys.PublicKey) -> str:
    return hashlib.sha256(keys.public_pem(key)).hexdigest()[:16]


def cache_key(
    ref: references.Reference, key: keys.PublicKey, identity: str | None
) -> tuple[str, str, str]:
    """What a verdict depends on: the repository and digest, the key, the identity."""
    return (f"{ref.name}@{ref.digest}", fingerprint(key), identity or "")


async def verdict_for(
    resolver: AsyncResolver,
    image: str,
    key: keys.PublicKey,
    *,
    key_name: str = "the key",
    identity: str | None = None,
    cache: VerdictCache | None = None,
) -> Verdict:
    """Whether the digest ``image`` pins is signed with ``key`` (``image`` must hold one)."""
    try:
        ref = references.normalize(image)
    except ImgdigestError as exc:
        return Verdict(str(exc), unverified=True)
    if ref.digest is None:
        return Verdict(f"{image}: no digest to verify", unverified=True)
    ck = cache_key(ref, key, identity)
    if cache is not None:
        hit = cache.get(ck)
        if hit is not None:
            return hit
    try:
        report: VerifyReport = await verify_digest(
            resolver, ref, ref.digest, key, key_name=key_name, identity=identity, given=image
        )
    except ImgdigestError as exc:
        return Verdict(exc.reason or str(exc), unverified=True)
    error = report.error()
    verdict = Verdict(None if error is None else error.reason)
    if cache is not None:
        cache.put(ck, verdict)
    return verdict


async def verdicts(
    resolver: AsyncResolver,
    images: list[str],
    key: keys.PublicKey,
    *,
    key_name: str = "the key",
    identity: str | None = None,
    cache: VerdictCache | None = None,
) -> dict[str, Verdict]:
    """A verdict per distinct image, asked concurrently."""
    unique = list(dict.fromkeys(images))
    answers = await asyncio.gather(
        *(
            verdict_for(resolver, i, key, key_name=key_name, identity=identity, cache=cache)
            for i in unique
        )
    )
    return dict(zip(unique, answers, strict=True))
