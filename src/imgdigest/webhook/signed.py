"""``require_signature``: admit a pinned image only when its digest carries a valid signature.

Rules are ``PATTERN=KEY.pub`` (``check``'s exemption rule for the pattern: exact, or a prefix
when it ends with ``*``); an image matching several rules must satisfy each one's key. The
question is asked of the digest the image is admitted with - the one the user pinned, or the
one ``/mutate`` just pinned - so what runs is what was signed. Verdicts are cached by
digest (``signatures.enforce.VerdictCache``); like tag lookups, a verification outlives the
request that started it and lands in the cache for the API server's retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from imgdigest import reference as references
from imgdigest.check import is_exempt
from imgdigest.errors import ConfigError, ImgdigestError
from imgdigest.resolver import AsyncResolver
from imgdigest.signatures import keys
from imgdigest.signatures.enforce import Verdict, VerdictCache, cache_key, verdict_for
from imgdigest.webhook.metrics import Metrics


@dataclass(frozen=True)
class Rule:
    pattern: str
    key_path: str
    key: keys.PublicKey


def parse_rules(entries: Iterable[str]) -> tuple[Rule, ...]:
    """``PATTERN=KEY.pub`` entries, each key read now: a bad one stops the webhook at start."""
    rules = []
    for entry in entries:
        pattern, sep, path = entry.partition("=")
        if not sep or not pattern.strip() or not path.strip():
            raise ConfigError(f"require_signature: expected PATTERN=KEY.pub, got {entry!r}")
        try:
            key = keys.load_public_key(path.strip())
        except ImgdigestError as exc:
            raise ConfigError(f"require_signature: {exc}") from None
        rules.append(Rule(pattern.strip(), path.strip(), key))
    return tuple(rules)


class SignatureGate:
    """Verifies admitted digests against the rules; one per process, on its event loop."""

    def __init__(
        self,
        resolver: AsyncResolver,
        rules: tuple[Rule, ...],
        metrics: Metrics,
        cache: VerdictCache | None = None,
    ) -> None:
        self.resolver = resolver
        self.rules = rules
        self.metrics = metrics
        self.cache = cache or VerdictCache()
        self._running: dict[tuple[str, str], asyncio.Task[Verdict]] = {}

    def rules_for(self, image: str) -> list[Rule]:
        return [r for r in self.rules if is_exempt(image, (r.pattern,))]

    async def problems(self, images: Iterable[str], timeout: float) -> dict[str, str]:
        """Why each image is not admitted (only those that are not); asks within ``timeout``."""
        waiting: dict[tuple[str, str], asyncio.Task[Verdict]] = {}
        for image in dict.fromkeys(images):
            for rule in self.rules_for(image):
                waiting[(image, rule.key_path)] = self._start(image, rule)
        if not waiting:
            return {}
        pending = [t for t in waiting.values() if not t.done()]
        if pending and timeout > 0:
            await asyncio.wait(pending, timeout=timeout)
        out: dict[str, str] = {}
        for (image, key_path), task in waiting.items():
            if not task.done():
                self.metrics.signature_verifications.labels("timeout").inc()
                out.setdefault(image, "its signature could not be verified within the budget")
                continue
            verdict = task.result()
            if verdict.problem is not None:
                out.setdefault(image, f"{verdict.problem} (key {key_path})")
        return out

    def _start(self, image: str, rule: Rule) -> asyncio.Task[Verdict]:
        key = (image, rule.key_path)
        running = self._running.get(key)
        if running is not None:
            return running
        task = asyncio.ensure_future(self._verify(image, rule))
        self._running[key] = task
        task.add_done_callback(lambda _: self._running.pop(key, None))
        return task

    async def _verify(self, image: str, rule: Rule) -> Verdict:
        try:
            ref = references.normalize(image)
        except ImgdigestError as exc:
            return Verdict(str(exc), unverified=True)
        ck = cache_key(ref, rule.key, None)
        hit = self.cache.get(ck)
        if hit is not None:
            self.metrics.signature_cache_hits.inc()
            return hit
        self.metrics.signature_cache_misses.inc()
        verdict = await verdict_for(self.resolver, image, rule.key, key_name=rule.key_path)
        self.cache.put(ck, verdict)
        outcome = "valid" if verdict.problem is None else "unsigned"
        self.metrics.signature_verifications.labels(
            "error" if verdict.unverified else outcome
        ).inc()
        return verdict
