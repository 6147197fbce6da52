"""Pinning: rewrite image references in files from tags to digests, changing nothing else.

The work is split the way a careful formatter splits it:

1. **Find** - ``imgdigest.documents`` gives every image scalar with its exact character
   span and quoting. A site whose text is not the image itself (escapes, folded
   scalars, non-strings) is left alone with a note rather than guessed at.
2. **Plan** - each site becomes a target: *pin* (no digest yet) or, with ``update``,
   *update* (re-resolve the tag of an existing pin). Identical targets are resolved
   once: from a lock file first, then - unless offline - through one resolver, so a
   batch shares tokens, connections and in-flight requests.
3. **Edit** - each span is replaced by the same text with ``@digest`` attached, inside
   the quotes it already had; the rest of the file is copied through, so comments,
   CRLF, indentation and key order cannot change. The edited text is scanned again and
   must yield the same sites with exactly the expected images; otherwise the file is
   refused (an edit must never change a document's structure).
4. **Write** - only if nothing failed (or ``partial``), all files at once through
   ``imgdigest.files.replace_files``.

Kustomize is special: it ignores ``newTag`` when ``digest`` is set, so a pin is written
as ``newTag: TAG@DIGEST`` (the tag stays readable and the digest is what is deployed);
an entry that already has ``digest:`` gets that value updated.

Updating keeps the kind of pin found: an index digest is refreshed to the tag's new
index digest, a platform manifest digest to the new digest of the same platform (read
from the old manifest's config), so a per-architecture pin never silently becomes a
multi-arch one or the reverse.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from imgdigest import platform as platforms
from imgdigest import reference as references
from imgdigest.display import safe
from imgdigest.documents import (
    DEFAULT_OPTIONS,
    STDIN,
    FileScan,
    FinderOptions,
    ImageSite,
    KustomizeImage,
    Note,
    find_images,
    scan_text,
)
from imgdigest.edits import Edit, apply_edits, unified_diff
from imgdigest.errors import (
    ImgdigestError,
    NotFoundError,
    UsageError,
)
from imgdigest.files import Replacement, replace_files
from imgdigest.lock import Lock, LockEntry
from imgdigest.media import config_platform, is_index
from imgdigest.platform import Platform
from imgdigest.reference import Reference
from imgdigest.resolver import AsyncResolver, ResolveOptions, pin_text

Mode = Literal["pin", "update"]
T = TypeVar("T")
#: ``on_progress(done, total)`` while references are resolved.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class PinOptions:
    """What a pin run does."""

    keep_tag: bool = True  #: write ``name:tag@digest`` (False: ``name@digest``)
    update: bool = False  #: re-resolve existing pins whose tag may have moved
    platform: str | None = None  #: pin this platform's manifest instead of the index
    lock: Lock | None = None  #: answers to use before asking any registry
    offline: bool = False  #: never ask a registry; a reference missing from ``lock`` fails
    verify: bool = True  #: re-scan edited text and refuse a file whose sites changed shape


DEFAULT_PIN = PinOptions()


@dataclass(frozen=True)
class Change:
    """One span rewritten."""

    file: str
    line: int
    column: int
    old: str
    new: str
    reference: str  #: the normalized reference that was resolved
    digest: str
    mode: Mode
    start: int
    end: int

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "old": self.old,
            "new": self.new,
            "reference": self.reference,
            "digest": self.digest,
            "mode": self.mode,
        }


@dataclass(frozen=True)
class Failure:
    """A reference that could not be pinned: ``file:line: reference: reason``."""

    file: str
    line: int | None
    reference: str
    reason: str
    exit_code: int = 1

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.reference}: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "reference": self.reference,
            "reason": self.reason,
            "exit_code": self.exit_code,
        }


@dataclass
class FilePlan:
    """The edits planned for one file, and what stands in their way."""

    scan: FileScan
    changes: list[Change] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    #: the verified edits; the new text is made from them on demand, so a run over a
    #: large tree holds each file's text once, not twice
    edits: list[Edit] = field(default_factory=list)

    @property
    def file(self) -> str:
        return self.scan.file

    @property
    def changed(self) -> bool:
        return bool(self.edits)

    @property
    def new_text(self) -> str | None:
        """The file's text with the edits made (its text as read when there are none)."""
        if self.scan.text is None or not self.edits:
            return self.scan.text
        return apply_edits(self.scan.text, self.edits)

    def diff(self) -> str:
        new = self.new_text
        if not self.changed or self.scan.text is None or new is None:
            return ""
        return unified_diff(self.scan.text, new, safe(self.file))  # names never drive a tty


@dataclass
class PinPlan:
    """Every file's plan; nothing has been written yet."""

    files: list[FilePlan]
    #: unique references answered, and how (lock, registry)
    resolved: int = 0
    from_lock: int = 0

    @property
    def failures(self) -> list[Failure]:
        return [f for fp in self.files for f in fp.failures]

    @property
    def errors(self) -> list[ImgdigestError]:
        return [e for fp in self.files for e in fp.scan.errors]

    @property
    def notes(self) -> list[Note]:
        return [n for fp in self.files for n in (*fp.scan.notes, *fp.notes)]

    @property
    def changes(self) -> list[Change]:
        return [c for fp in self.files for c in fp.changes]

    @property
    def changed_files(self) -> list[FilePlan]:
        return [fp for fp in self.files if fp.changed]

    @property
    def exit_code(self) -> int:
        """0, or the code of the first failure (resolution) or file error."""
        for fp in self.files:
            for failure in fp.failures:
                return failure.exit_code
            for error in fp.scan.errors:
                return error.exit_code
        return 0

    def writable(self, partial: bool = False) -> list[FilePlan]:
        """The files ``write`` would write: none when anything failed, unless ``partial``.

        Files with an error of their own (invalid YAML, a refused edit) are never written.
        """
        if self.failures and not partial:
            return []
        return [
            fp
            for fp in self.changed_files
            if fp.file != STDIN
            and fp.scan.path is not None
            and not fp.failures
            and not fp.scan.errors
        ]

    def replacements(self, partial: bool = False) -> Iterator[Replacement]:
        """The new contents, made one file at a time as the writer asks for them."""
        for fp in self.writable(partial):
            new, old = fp.new_text, fp.scan.text
            assert new is not None and old is not None and fp.scan.path is not None
            codec = fp.scan.encoding  # a UTF-16 file is written back in UTF-16, BOM and all
            yield Replacement(fp.scan.path, new.encode(codec), old.encode(codec))

    def write(self, partial: bool = False) -> list[str]:
        """Write every changed file atomically (all renamed only once all are staged)."""
        files = [fp.file for fp in self.writable(partial)]
        replace_files(self.replacements(partial))
        return files

    def summary(self) -> dict[str, int]:
        return {
            "files": len(self.files),
            "files_changed": len(self.changed_files),
            "references_changed": len(self.changes),
            "unique_references": self.resolved,
            "from_lock": self.from_lock,
            "failures": len(self.failures),
            "errors": len(self.errors),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "changes": [c.to_json() for c in self.changes],
            "failures": [f.to_json() for f in self.failures],
            "errors": [str(e) for e in self.errors],
            "notes": [str(n) for n in self.notes],
            "summary": self.summary(),
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)


# -- targets ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """What one site asks for and where its answer goes."""

    site: ImageSite
    mode: Mode
    tagged: Reference  #: normalized ``name:tag`` to resolve (no digest)
    current: str | None  #: the digest already pinned (update mode)
    start: int
    end: int
    raw: str  #: ``text[start:end]``
    line: int | None = None  #: where the edited value is, when not at the site itself
    column: int | None = None

    @property
    def key(self) -> tuple[str, str, str | None]:
        return (self.mode, str(self.tagged), self.current)


def pinned_state(site: ImageSite) -> tuple[Reference | None, str | None]:
    """The normalized ``name:tag`` a site names (None without a tag) and its pinned digest.

    For a kustomize entry the tag is ``newTag`` (before any ``@``) even when ``digest`` is
    set and kustomize ignores it: it still says which tag the pin was taken from.
    """
    detail = site.detail
    if isinstance(detail, KustomizeImage):
        name = detail.new_name or detail.name
        if name is None:
            return None, None
        tag, _, tag_digest = detail.new_tag.value.partition("@") if detail.new_tag else ("", "", "")
        current = detail.digest.value if detail.digest else (tag_digest or None)
        tagged = references.normalize(f"{name.value}:{tag}") if tag else None
        return tagged, current
    ref = references.normalize(site.image)
    tagged = ref.without_digest() if ref.tag is not None else None
    return tagged, ref.digest


def _kustomize_target(
    site: ImageSite, detail: KustomizeImage, update: bool
) -> Target | Note | None:
    tagged, current = pinned_state(site)
    if current is not None and not update:
        return None
    if tagged is None:
        if current is not None:
            return _note(site, "pinned without a tag, nothing to update from")
        return None
    edited = detail.digest if detail.digest is not None else detail.new_tag
    assert edited is not None
    if not edited.exact:
        return Note(site.file, edited.line, f"{site.image}: value written with escapes left alone")
    mode: Mode = "update" if current else "pin"
    return Target(
        site,
        mode,
        tagged,
        current,
        edited.start,
        edited.end,
        edited.raw,
        edited.line,
        edited.column,
    )


def _target(site: ImageSite, options: PinOptions) -> Target | Note | None:
    """The target for a site; a note when it is left alone on purpose; None if done."""
    if isinstance(site.detail, KustomizeImage):
        return _kustomize_target(site, site.detail, options.update)
    if not site.exact:
        if site.value_type != "str":
            return _note(site, f"a {site.value_type}, not a string; left alone")
        return _note(site, "value written with escapes or line folding left alone")
    tagged, current = pinned_state(site)
    if current is not None and not options.update:
        return None
    if tagged is None:
        if current is not None:
            return _note(site, "pinned without a tag, nothing to update from")
        tagged = references.normalize(site.image)
    mode: Mode = "update" if current else "pin"
    return Target(site, mode, tagged, current, site.start, site.end, site.raw)


def _note(site: ImageSite, message: str) -> Note:
    return Note(site.file, site.line, f"{site.image}: {message}")


def _rewrite(target: Target, digest: str, keep_tag: bool) -> str:
    if isinstance(target.site.detail, KustomizeImage):
        if target.site.detail.digest is not None:
            return digest
        return f"{target.raw.partition('@')[0]}@{digest}"
    return pin_text(target.raw, digest, keep_tag)


def _expected_image(site: ImageSite, target: Target, digest: str, keep_tag: bool) -> str:
    """What the finder must read at this site once the edit is made."""
    detail = site.detail
    if isinstance(detail, KustomizeImage):
        name = (detail.new_name or detail.name).value  # type: ignore[union-attr]
        if detail.digest is not None:
            return f"{name}@{digest}"
        return f"{name}:{target.raw.partition('@')[0]}@{digest}"
    return pin_text(site.image, digest, keep_tag)


# -- resolution ------------------------------------------------------------------------


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

    async def answer(self, targets: Sequence[Target]) -> dict[tuple[str, str, str | None], Answer]:
        unique: dict[tuple[str, str, str | None], Target] = {}
        for t in targets:
            unique.setdefault(t.key, t)
        answers: dict[tuple[str, str, str | None], Answer] = {}
        remaining: list[Target] = []
        for key, t in unique.items():
            hit = self._from_lock(t)
            if hit is not None:
                answers[key] = hit
                self.from_lock += 1
            elif self.options.offline or self.resolver is None:
                answers[key] = NotFoundError(
                    "not in the lock file (offline)"
                    if self.options.lock is not None
                    else "offline and no lock file"
                )
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


def with_resolver(
    options: ResolveOptions | None, work: Callable[[AsyncResolver], Awaitable[T]]
) -> T:
    """Run ``work`` with a resolver on a fresh event loop.

    ``asyncio.run`` cancels and awaits every pending request when the run is
    interrupted (Ctrl-C, or SIGTERM turned into an interrupt), so an interrupted pin
    stops cleanly instead of leaving half-open connections to be collected noisily.
    """

    async def main() -> T:
        async with AsyncResolver(options) as resolver:
            return await work(resolver)

    return asyncio.run(main())


# -- planning --------------------------------------------------------------------------


def _collect(scan: FileScan, options: PinOptions) -> tuple[FilePlan, list[Target]]:
    plan = FilePlan(scan)
    targets: list[Target] = []
    if scan.text is None or scan.errors:
        return plan, targets
    for site in scan.sites:
        try:
            found = _target(site, options)
        except ImgdigestError as exc:
            plan.failures.append(Failure(site.file, site.line, site.image, str(exc), exc.exit_code))
            continue
        if isinstance(found, Note):
            plan.notes.append(found)
        elif found is not None:
            if site.alias:
                plan.notes.append(_note(site, "shared through a YAML anchor; every use is pinned"))
            targets.append(found)
    return plan, targets


def _collect_guarded(scan: FileScan, options: PinOptions) -> tuple[FilePlan, list[Target]]:
    """``_collect``, with an unexpected failure kept as that file's failure."""
    try:
        return _collect(scan, options)
    except Exception as exc:
        plan = FilePlan(scan)
        plan.failures.append(Failure(scan.file, None, "-", f"internal error: {exc!r}"))
        return plan, []


def _reason(exc: ImgdigestError, target: Target) -> str:
    text = str(exc)
    for prefix in (f"{target.tagged}: ", f"{target.site.image}: "):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def _finish(
    plan: FilePlan,
    targets: list[Target],
    answers: dict[tuple[str, str, str | None], Answer],
    notes: dict[tuple[str, str, str | None], str],
    options: PinOptions,
    finder: FinderOptions,
) -> None:
    scan = plan.scan
    edits: list[Edit] = []
    expected: dict[int, str] = {}  # id of site -> image it must read as afterwards
    seen_spans: set[tuple[int, int]] = set()
    for t in targets:
        answer = answers[t.key]
        if isinstance(answer, ImgdigestError):
            plan.failures.append(
                Failure(scan.file, t.site.line, t.site.image, _reason(answer, t), answer.exit_code)
            )
            continue
        if t.key in notes:
            plan.notes.append(Note(scan.file, t.site.line, f"{t.site.image}: {notes[t.key]}"))
        new = _rewrite(t, answer, options.keep_tag)
        if new == t.raw:
            continue
        expected[id(t.site)] = _expected_image(t.site, t, answer, options.keep_tag)
        edits.append(Edit(t.start, t.end, new))
        if (t.start, t.end) in seen_spans:
            continue
        seen_spans.add((t.start, t.end))
        plan.changes.append(
            Change(
                file=scan.file,
                line=t.line or t.site.line,
                column=t.column or t.site.column,
                old=t.raw,
                new=new,
                reference=str(t.tagged),
                digest=answer,
                mode=t.mode,
                start=t.start,
                end=t.end,
            )
        )
    if not edits:
        return
    assert scan.text is not None
    try:
        new_text = apply_edits(scan.text, edits)
    except UsageError as exc:
        plan.failures.append(Failure(scan.file, None, "-", str(exc), exc.exit_code))
        plan.changes.clear()
        return
    # Sites sharing a span with an edited one (anchors) read the new value too.
    by_span = {(t.start, t.end): id(t.site) for t in targets if id(t.site) in expected}
    if options.verify:
        problem = _verify(scan, new_text, expected, by_span, finder)
        if problem is not None:
            plan.failures.append(Failure(scan.file, problem[0], problem[1], problem[2], 1))
            plan.changes.clear()
            return
    plan.edits = edits


def _verify(
    scan: FileScan,
    new_text: str,
    expected: dict[int, str],
    by_span: dict[tuple[int, int], int],
    finder: FinderOptions,
) -> tuple[int | None, str, str] | None:
    """Scan the edited text again: same sites, the expected images, nothing else moved."""
    again = scan_text(new_text, scan.file, reader=scan.source, options=finder)
    if again.errors:
        return None, "-", f"the edited file no longer parses ({again.errors[0]}); left alone"
    if len(again.sites) != len(scan.sites):
        return None, "-", "the edit would change which images the file names; left alone"
    for before, after in zip(scan.sites, again.sites, strict=True):
        site_id = id(before)
        if site_id not in expected:
            site_id = by_span.get((before.start, before.end), site_id)
        want = expected.get(site_id, before.image)
        if after.image != want or after.path != before.path:
            why = f"the edit would read back as {after.image!r}; left alone"
            return before.line, before.image, why
    return None


async def plan_scans(
    scans: Iterable[FileScan],
    options: PinOptions = DEFAULT_PIN,
    resolver: AsyncResolver | None = None,
    *,
    finder: FinderOptions = DEFAULT_OPTIONS,
    progress: Progress | None = None,
) -> PinPlan:
    """Plan the pins of already scanned files, resolving through ``resolver`` if given."""
    collected = [_collect_guarded(scan, options) for scan in scans]
    all_targets = [t for _, ts in collected for t in ts]
    answers_for = DigestSource(options, resolver, progress)
    answers = await answers_for.answer(all_targets)
    for plan, targets in collected:
        try:
            _finish(plan, targets, answers, answers_for.notes, options, finder)
        except Exception as exc:  # one file's bug must not lose the others' pins
            plan.edits.clear()
            plan.changes.clear()
            plan.failures.append(Failure(plan.file, None, "-", f"internal error: {exc!r}"))
    return PinPlan(
        files=[p for p, _ in collected],
        resolved=len(answers),
        from_lock=answers_for.from_lock,
    )


def plan_paths(
    paths: Iterable[str],
    options: PinOptions = DEFAULT_PIN,
    resolve_options: ResolveOptions | None = None,
    *,
    finder: FinderOptions = DEFAULT_OPTIONS,
    progress: Progress | None = None,
) -> PinPlan:
    """Find the images under ``paths`` and plan their pins (nothing is written)."""
    if options.platform:
        platforms.parse(options.platform)  # a bad specifier is a usage error up front
    scans = list(find_images(paths, finder))
    if options.offline:
        return asyncio.run(plan_scans(scans, options, None, finder=finder, progress=progress))
    return with_resolver(
        resolve_options,
        lambda r: plan_scans(scans, options, r, finder=finder, progress=progress),
    )


def pin_text_document(
    text: str,
    file: str = STDIN,
    options: PinOptions = DEFAULT_PIN,
    resolve_options: ResolveOptions | None = None,
    *,
    finder: FinderOptions = DEFAULT_OPTIONS,
) -> PinPlan:
    """Plan the pins of one file's text (``file`` decides which reader reads it)."""
    scans = [scan_text(text, file, options=finder)]
    if options.offline:
        return asyncio.run(plan_scans(scans, options, None, finder=finder))
    return with_resolver(resolve_options, lambda r: plan_scans(scans, options, r, finder=finder))


# -- lock files ------------------------------------------------------------------------


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
) -> tuple[Lock, list[Failure], list[FileScan]]:
    """Find the images under ``paths`` and record what their tags resolve to now."""
    if platform:
        platforms.parse(platform)
    scans = list(find_images(paths, finder))
    lock, failures = with_resolver(resolve_options, lambda r: lock_scans(scans, r, platform))
    return lock, failures, scans
