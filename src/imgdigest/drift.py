"""Drift: is every image in these files pinned, and is every pin still true?

What CI needs to know before a deploy, without writing anything:

* **unpinned** - a reference with no digest (it may run different content tomorrow);
* **moved** - a ``name:tag@digest`` whose tag now names other content. The kind of
  pin is respected: a per-platform pin is compared with the same platform's current
  manifest, an index pin with the current index, so a correct per-architecture pin
  is never reported as drift just because the tag names an index;
* **missing** - a pinned digest that no registry endpoint has any more (checked
  through the mirror configuration, so a cluster pulling from a mirror is covered).

Resolution is shared with ``pin --update`` (``imgdigest.pin.DigestSource``): the same
unique targets, resolved once, concurrently, through one resolver.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from imgdigest import reference as references
from imgdigest.documents import (
    DEFAULT_OPTIONS,
    FileScan,
    FinderOptions,
    ImageSite,
    Note,
    find_images,
)
from imgdigest.errors import ImgdigestError, NotFoundError
from imgdigest.pin import (
    DEFAULT_PIN,
    DigestSource,
    Failure,
    PinOptions,
    Target,
    pinned_state,
    run_offline,
)
from imgdigest.reference import Reference

# The resolver (and the HTTP client under it) loads only when a registry is asked:
# offline work (a lock file, --offline) starts without it.
if TYPE_CHECKING:
    from imgdigest.resolver import AsyncResolver, ResolveOptions

Problem = Literal["unpinned", "moved", "missing"]


@dataclass(frozen=True)
class Finding:
    """One reference that is not pinned, or whose pin no longer holds."""

    file: str
    line: int
    column: int
    image: str
    problem: Problem
    detail: str
    pinned: str | None = None  #: the digest in the file
    current: str | None = None  #: what the tag names now (same kind of pin)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.image}: {self.detail}"

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "image": self.image,
            "problem": self.problem,
            "detail": self.detail,
            "pinned": self.pinned,
            "current": self.current,
        }


@dataclass
class DriftReport:
    """Everything a drift run found; ``exit_code`` is what CI should see."""

    scans: list[FileScan]
    findings: list[Finding] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    checked: int = 0  #: image sites looked at

    @property
    def errors(self) -> list[ImgdigestError]:
        return [e for s in self.scans for e in s.errors]

    @property
    def exit_code(self) -> int:
        """A resolution failure's code, else 2 for unreadable files, else 1 for findings."""
        if self.failures:
            return self.failures[0].exit_code
        if self.errors:
            return self.errors[0].exit_code
        return 1 if self.findings else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "findings": [f.to_json() for f in self.findings],
            "failures": [f.to_json() for f in self.failures],
            "errors": [str(e) for e in self.errors],
            "notes": [str(n) for n in self.notes],
            "summary": {
                "files": len(self.scans),
                "images": self.checked,
                "unpinned": sum(f.problem == "unpinned" for f in self.findings),
                "moved": sum(f.problem == "moved" for f in self.findings),
                "missing": sum(f.problem == "missing" for f in self.findings),
                "failures": len(self.failures),
            },
        }


async def drift_scans(
    scans: list[FileScan],
    resolver: AsyncResolver | None,
    options: PinOptions = DEFAULT_PIN,
) -> DriftReport:
    """Check every site of ``scans``; without a resolver only unpinned ones are found."""
    report = DriftReport(scans)
    pinned: list[tuple[ImageSite, Reference | None, str]] = []
    for scan in scans:
        report.notes.extend(scan.notes)
        for site in scan.sites:
            report.checked += 1
            try:
                tagged, digest = pinned_state(site)
            except ImgdigestError as exc:
                report.failures.append(_failure(site, exc))
                continue
            if digest is None:
                report.findings.append(_finding(site, "unpinned", "not pinned to a digest"))
            else:
                pinned.append((site, tagged, digest))
    if resolver is None or not pinned:
        return report
    # Does each pinned digest still exist (through mirrors)? One HEAD per unique digest.
    by_digest: dict[str, Reference] = {}
    for site, tagged, digest in pinned:
        base = tagged.without_tag() if tagged is not None else _name_of(site.image)
        if base is not None:
            by_digest.setdefault(f"{base.name}@{digest}", base.with_digest(digest))
    exists = dict(
        zip(by_digest, await resolver.resolve_many(list(by_digest.values())), strict=True)
    )
    # Does each tag still name the pinned content (same kind of pin)?
    targets = [
        Target(site, "update", tagged, digest, site.start, site.end, site.raw)
        for site, tagged, digest in pinned
        if tagged is not None
    ]
    source = DigestSource(options, resolver, None)
    answers = await source.answer(targets)
    for site, tagged, digest in pinned:
        base = tagged.without_tag() if tagged is not None else _name_of(site.image)
        check = exists.get(f"{base.name}@{digest}") if base is not None else None
        if isinstance(check, NotFoundError):
            why = f"pinned digest {digest} not found in the registry or its mirrors"
            report.findings.append(_finding(site, "missing", why, pinned=digest))
            continue
        if isinstance(check, ImgdigestError):
            report.failures.append(_failure(site, check))
            continue
        if tagged is None:
            continue
        key = ("update", str(tagged), digest)
        answer = answers.get(key)
        if isinstance(answer, ImgdigestError):
            report.failures.append(_failure(site, answer))
        elif answer is not None and answer != digest:
            tag = tagged.tag
            why = f"tag {tag} has moved: pinned {digest}, now {answer}"
            report.findings.append(_finding(site, "moved", why, pinned=digest, current=answer))
    return report


def _finding(site: ImageSite, problem: Problem, detail: str, **kw: str | None) -> Finding:
    return Finding(site.file, site.line, site.column, site.image, problem, detail, **kw)


def _failure(site: ImageSite, exc: ImgdigestError) -> Failure:
    return Failure(site.file, site.line, site.image, str(exc), exc.exit_code)


def _name_of(image: str) -> Reference | None:
    try:
        return references.normalize(image).without_digest().without_tag()
    except ImgdigestError:
        return None


def drift_paths(
    paths: Iterable[str],
    resolve_options: ResolveOptions | None = None,
    *,
    finder: FinderOptions = DEFAULT_OPTIONS,
    offline: bool = False,
) -> DriftReport:
    """Find the images under ``paths`` and check their pins (nothing is written)."""
    scans = list(find_images(paths, finder))
    if offline:
        return run_offline(drift_scans(scans, None))
    from imgdigest.resolver import run_with_resolver

    return run_with_resolver(resolve_options, lambda r: drift_scans(scans, r))
