"""Answering targets with digests: from a lock first, then through one resolver.

Identical targets are answered once per run, a whole batch through one resolver so it
shares tokens, connections and in-flight requests. ``drift`` asks the same questions
(has this tag moved?) and shares this class, so both agree on the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from imgdigest import platform as platforms
from imgdigest.errors import ImgdigestError, NotFoundError
from imgdigest.media import config_platform, is_index
from imgdigest.pin.plan import PinOptions, Progress, Target
from imgdigest.platform import Platform
from imgdigest.reference import Reference

# The resolver (and the HTTP client under it) loads only when a registry is asked:
# offline work (a lock file, --offline) starts without it.
if TYPE_CHECKING:
    from imgdigest.resolver import AsyncResolver

Answer = str | ImgdigestError


class DigestSource:
    """Answers the unique targets of a run: lock first, then the registry (drift shares it)."""

    def __init__(
        self,
        options: PinOptions,
        resolver: AsyncResolver | None,
        progress: Progress | None,
    ) -> None:
        self.options = options
        self.resolver = resolver
        self.progress = progress
        self.wanted = platforms.parse(options.platform) if options.platform else None
        self.notes: dict[tuple[str, str, str | None], str] = {}
        self.from_lock = 0

    def _from_lock(self, target: Target) -> Answer | None:
        lock = self.options.lock
        if lock is None:
            return None
        if target.mode == "pin":
            entry = lock.lookup(target.tagged, self.wanted)
            return entry.digest if entry else None
        entry = lock.lookup(target.tagged, None)
        if entry is None:
            return None
        if target.current == entry.digest or target.current in entry.children.values():
            return target.current  # type: ignore[return-value]
        if self.wanted is not None:
            hit = lock.lookup(target.tagged, self.wanted)
            if hit is not None:
                return hit.digest
        self.notes[target.key] = (
            "the lock does not say which platform the old pin was for; pinned to the locked digest"
        )
        return entry.digest

    def _known(self, target: Target) -> Answer | None:
        """The lock's answer; offline or with no resolver, a miss is an error; else None."""
        hit = self._from_lock(target)
        if hit is not None:
            self.from_lock += 1
            return hit
        if self.options.offline or self.resolver is None:
            return NotFoundError(
                "not in the lock file (offline)"
                if self.options.lock is not None
                else "offline and no lock file"
            )
        return None

    def answer_known(
        self, targets: Sequence[Target], answers: dict[tuple[str, str, str | None], Answer]
    ) -> None:
        """Add to ``answers`` what the lock says of ``targets`` not yet answered (offline:
        every one), so a run can plan file by file and still ask once per reference."""
        for t in targets:
            key = t.key
            if key not in answers:
                known = self._known(t)
                if known is not None:
                    answers[key] = known

    async def answer(self, targets: Sequence[Target]) -> dict[tuple[str, str, str | None], Answer]:
        unique: dict[tuple[str, str, str | None], Target] = {}
        for t in targets:
            unique.setdefault(t.key, t)
        answers: dict[tuple[str, str, str | None], Answer] = {}
        remaining: list[Target] = []
        for key, t in unique.items():
            known = self._known(t)
            if known is not None:
                answers[key] = known
            else:
                remaining.append(t)
        if remaining:
            answers.update(await self._resolve(remaining))
        return answers

    async def _resolve(self, targets: list[Target]) -> dict[tuple[str, str, str | None], Answer]:
        assert self.resolver is not None
        r = self.resolver
        pins = [t for t in targets if t.mode == "pin"]
        updates = [t for t in targets if t.mode == "update"]
        out: dict[tuple[str, str, str | None], Answer] = {}
        total = len(pins) + len(updates)
        done = 0

        async def batch(refs: list[Reference], platform: Platform | None) -> list[Any]:
            report = self.progress
            if report is None:
                return await r.resolve_many(refs, platform)

            def tick(_n: int, _result: object) -> None:
                nonlocal done
                done += 1
                report(min(done, total), total)

            return await r.resolve_many(refs, platform, on_result=tick)

        if pins:
            results = await batch([t.tagged for t in pins], self.wanted)
            for t, res in zip(pins, results, strict=True):
                out[t.key] = res if isinstance(res, ImgdigestError) else res.digest
        if updates:
            heads = await batch([t.tagged for t in updates], None)
            moved = []
            for t, head in zip(updates, heads, strict=True):
                if isinstance(head, ImgdigestError):
                    out[t.key] = head
                elif head.digest == t.current:
                    out[t.key] = head.digest
                else:
                    moved.append((t, head))
            import asyncio  # only a registry run gets here: offline work loads no event loop

            found = await asyncio.gather(*(self._keep_kind(t, h) for t, h in moved))
            for (t, _), answer in zip(moved, found, strict=True):
                out[t.key] = answer
        return out

    async def _keep_kind(self, target: Target, head: Any) -> Answer:
        """The tag's new digest, of the same kind (index or platform) as the old pin."""
        assert self.resolver is not None and target.current is not None
        r = self.resolver
        tagged = target.tagged
        try:
            try:
                old, _ = await r.manifest(tagged, target.current)
            except NotFoundError:
                if self.wanted is not None:
                    return (await r.resolve(tagged, self.wanted)).digest
                self.notes[target.key] = (
                    "the old pinned digest is gone from the registry; pinned to the tag's digest"
                )
                return str(head.digest)
            if old.is_index or not is_index(head.media_type) or old.config is None:
                return str(head.digest)
            where = f"{tagged.name}@{target.current}"
            config = await r.config(tagged, old.config)
            platform = config_platform(config, where)
            return (await r.resolve(tagged, platform)).digest
        except ImgdigestError as exc:
            return exc
