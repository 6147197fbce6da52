"""Planning a run: collect each file's targets, answer them all at once, edit, verify.

One file's failure (a refused edit, an internal error) stays that file's: the others
keep their pins.

Offline, the lock answers every reference, so ``plan_paths`` plans each file as it is
read and lets its text go (the diff and the write read it again): memory follows the
largest file and the edits, not the tree.

Verifying an edit costs no parse where the edit provably cannot change the structure
(``_in_place``): a one-line plain or quoted scalar whose new text is the expected image,
written only in characters that cannot end, open or escape a scalar. YAML's scanner
reads left to right, so the text before the edit reads as before; such a value is
scanned to the same end, and the text after it is unchanged. Any other edit (Helm and
kustomize keys, Dockerfiles, escapes, an unexpected character) has the whole file
scanned again, as every edit once had.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Coroutine, Iterable
from itertools import accumulate
from typing import TYPE_CHECKING, Any, TypeVar

import yaml
from yaml.nodes import ScalarNode

from imgdigest import platform as platforms
from imgdigest.documents import (
    DEFAULT_OPTIONS,
    STDIN,
    FileScan,
    FinderOptions,
    Note,
    find_images,
    scan_text,
)
from imgdigest.edits import Edit, apply_edits, ordered_edits
from imgdigest.errors import ImgdigestError, UsageError
from imgdigest.pin.digests import Answer, DigestSource
from imgdigest.pin.plan import (
    DEFAULT_PIN,
    Change,
    ChangeKinds,
    Failure,
    FilePlan,
    PinOptions,
    PinPlan,
    Progress,
    Target,
)
from imgdigest.pin.targets import expected_image, rewritten, site_note, site_target

# The resolver (and the HTTP client under it) loads only when a registry is asked:
# offline work (a lock file, --offline) starts without it.
if TYPE_CHECKING:
    from imgdigest.resolver import AsyncResolver, ResolveOptions


def _collect(scan: FileScan, options: PinOptions) -> tuple[FilePlan, list[Target]]:
    plan = FilePlan(scan)
    targets: list[Target] = []
    if scan.text is None or scan.errors:
        return plan, targets
    for site in scan.sites:
        try:
            found = site_target(site, options)
        except ImgdigestError as exc:
            plan.failures.append(Failure(site.file, site.line, site.image, str(exc), exc.exit_code))
            continue
        if isinstance(found, Note):
            plan.notes.append(found)
        elif found is not None:
            if site.alias:
                plan.notes.append(
                    site_note(site, "shared through a YAML anchor; every use is pinned")
                )
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
        key = t.key
        answer = answers[key]
        if isinstance(answer, ImgdigestError):
            plan.failures.append(
                Failure(scan.file, t.site.line, t.site.image, _reason(answer, t), answer.exit_code)
            )
            continue
        if key in notes:
            plan.notes.append(Note(scan.file, t.site.line, f"{t.site.image}: {notes[key]}"))
        new = rewritten(t, answer, options.keep_tag)
        if new == t.raw:
            continue
        expected[id(t.site)] = expected_image(t.site, t, answer, options.keep_tag)
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
    if options.verify and not _all_in_place(scan.text, targets, edits, expected):
        try:
            new_text = apply_edits(scan.text, edits)
        except UsageError as exc:
            plan.failures.append(Failure(scan.file, None, "-", str(exc), exc.exit_code))
            plan.changes.clear()
            return
        # Sites sharing a span with an edited one (anchors) read the new value too.
        by_span = {(t.start, t.end): id(t.site) for t in targets if id(t.site) in expected}
        problem = _verify(scan, new_text, expected, by_span, finder, edits)
        del new_text
        if problem is not None:
            plan.failures.append(Failure(scan.file, problem[0], problem[1], problem[2], 1))
            plan.changes.clear()
            return
    elif not options.verify:
        try:
            _no_overlap(scan.text, edits)
        except UsageError as exc:
            plan.failures.append(Failure(scan.file, None, "-", str(exc), exc.exit_code))
            plan.changes.clear()
            return
    plan.edits = edits


#: Characters of a reference that nothing in YAML reads as the end of a scalar, an
#: escape, a comment or a flow indicator; the first must not be an indicator either.
_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@+-]*")
_STR = "tag:yaml.org,2002:str"
_RESOLVER = yaml.resolver.Resolver()


def _in_place(text: str, target: Target, new: str, want: str) -> bool:
    """Whether replacing ``target``'s span by ``new`` provably changes nothing but the
    value of its scalar, which then reads ``want`` (see the module docstring)."""
    site = target.site
    raw = target.raw
    return (
        site.detail is None
        and site.value_type == "str"
        and site.quoting in ("plain", "single", "double")
        and (target.start, target.end) == (site.start, site.end)
        and new == want
        and not new.endswith(":")  # before a space, a plain scalar would become a key
        and _SAFE.fullmatch(new) is not None
        and _SAFE.fullmatch(raw) is not None
        and len(raw) == target.end - target.start
        and text.startswith(raw, target.start)
        and (site.quoting != "plain" or _RESOLVER.resolve(ScalarNode, new, (True, False)) == _STR)
    )


def _no_overlap(text: str, edits: list[Edit]) -> None:
    """Raise ``UsageError`` as ``apply_edits`` would, without making the new text."""
    ordered_edits(text, edits)


def _all_in_place(
    text: str, targets: list[Target], edits: list[Edit], expected: dict[int, str]
) -> bool:
    """Every edit provably in place and no two overlapping: no re-scan is needed."""
    by_span: dict[tuple[int, int], str] = {}
    for t in targets:
        want = expected.get(id(t.site))
        if want is None:
            continue
        by_span[(t.start, t.end)] = want
    news = {(e.start, e.end): e.new for e in edits}
    if len(news) != len(set(edits)):
        return False  # one span, two different new texts
    for t in targets:
        span = (t.start, t.end)
        if span not in news:
            continue
        want = by_span.get(span)
        if want is None or not _in_place(text, t, news[span], want):
            return False
    try:
        _no_overlap(text, edits)
    except UsageError:
        return False
    return True


def _verify(
    scan: FileScan,
    new_text: str,
    expected: dict[int, str],
    by_span: dict[tuple[int, int], int],
    finder: FinderOptions,
    edits: list[Edit],
) -> tuple[int | None, str, str] | None:
    """Scan the edited text again: same sites, the expected images, nothing else moved.

    An image scalar must also sit exactly where the edits move it (its old offsets
    shifted by the edits before them), so an edit cannot smuggle in text beside a value
    that still reads as expected (a comment, another key).
    """
    again = scan_text(new_text, scan.file, reader=scan.source, options=finder)
    if again.errors:
        return None, "-", f"the edited file no longer parses ({again.errors[0]}); left alone"
    if len(again.sites) != len(scan.sites):
        return None, "-", "the edit would change which images the file names; left alone"
    moved = _mover(edits)
    for before, after in zip(scan.sites, again.sites, strict=True):
        site_id = id(before)
        if site_id not in expected:
            site_id = by_span.get((before.start, before.end), site_id)
        want = expected.get(site_id, before.image)
        if after.image != want or after.path != before.path:
            why = f"the edit would read back as {after.image!r}; left alone"
            return before.line, before.image, why
        if before.detail is None and (after.start, after.end) != (
            moved(before.start),
            moved(before.end),
        ):
            why = "the edit would change more than the image value; left alone"
            return before.line, before.image, why
    return None


def _mover(edits: list[Edit]) -> Callable[[int], int]:
    """Where an offset of the old text is in the edited one (edits ending at or before it
    shift it by how much they grew)."""
    ordered = sorted(set(edits), key=lambda e: (e.end, e.start))
    ends = [e.end for e in ordered]
    shifts = list(accumulate((len(e.new) - (e.end - e.start) for e in ordered), initial=0))

    def moved(offset: int) -> int:
        return offset + shifts[bisect.bisect_right(ends, offset)]

    return moved


def _finish_guarded(
    plan: FilePlan,
    targets: list[Target],
    answers: dict[tuple[str, str, str | None], Answer],
    source: DigestSource,
    options: PinOptions,
    finder: FinderOptions,
) -> None:
    try:
        _finish(plan, targets, answers, source.notes, options, finder)
    except Exception as exc:  # one file's bug must not lose the others' pins
        plan.edits.clear()
        plan.changes.clear()
        plan.failures.append(Failure(plan.file, None, "-", f"internal error: {exc!r}"))


def _plan_streamed(
    scans: Iterable[FileScan], options: PinOptions, finder: FinderOptions
) -> PinPlan:
    """Offline planning, one file at a time: the lock answers as each file is read, and
    the file's text is let go once its edits are verified."""
    source = DigestSource(options, None, None)
    answers: dict[tuple[str, str, str | None], Answer] = {}
    files: list[FilePlan] = []
    kinds = ChangeKinds()
    for scan in scans:  # the finder collects garbage less often while it scans
        plan, targets = _collect_guarded(scan, options)
        source.answer_known(targets, answers)
        _finish_guarded(plan, targets, answers, source, options, finder)
        del targets
        plan.release()
        plan.pack(kinds)
        files.append(plan)
    return PinPlan(files=files, resolved=len(answers), from_lock=source.from_lock)




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
        _finish_guarded(plan, targets, answers, answers_for, options, finder)
    return PinPlan(
        files=[p for p, _ in collected],
        resolved=len(answers),
        from_lock=answers_for.from_lock,
    )


T = TypeVar("T")


def run_offline(coro: Coroutine[Any, Any, T]) -> T:
    """Finish a job's coroutine that asks no registry, without an event loop.

    Offline, the planners await nothing that can suspend (lock lookups are plain calls),
    so the coroutine runs to its end on its first step; importing and starting asyncio
    for it would cost more than the work of a small file.
    """
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("an offline job waited on I/O")


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
    if options.offline:
        return _plan_streamed(find_images(paths, finder), options, finder)
    scans = list(find_images(paths, finder))
    from imgdigest.resolver import run_with_resolver

    return run_with_resolver(
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
        return run_offline(plan_scans(scans, options, None, finder=finder))
    from imgdigest.resolver import run_with_resolver

    return run_with_resolver(
        resolve_options, lambda r: plan_scans(scans, options, r, finder=finder)
    )
