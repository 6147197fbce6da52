"""Pinning a Helm chart where it renders: render, trace, pin the values, render again.

Which values a chart reads is known only to its templates, so ``pin_chart`` asks Helm:

1. **Render** with the real ``helm template`` (with the user's ``-f`` files and ``--set``).
2. **Trace** each rendered image to the values entries that produce it. The values files in
   play (each subchart's ``values.yaml`` under its key, the chart's, the ``-f`` overlays,
   then ``--set``) are merged as Helm merges them: key by key, later sources winning, a
   list replaced whole. An image entry (the shapes of ``documents.helm_values``) whose
   merged reference is the rendered image feeds it, and its edit goes to the file that set
   the key it edits: the digest key when the entry has one, else the tag. An image no
   entry produces is a template literal, reported with its template file and line.
3. **Pin** every traced entry, answered as ``pin`` answers (lock first, then registry).
4. **Prove** it: the edited values are rendered again in a scratch copy of the chart. The
   output must be the first render with each traced image replaced by a pinned one and
   not one other character changed. A chart that ignores the digest key it offers gets
   the pin in its tag instead, and is rendered once more; if the proof still fails,
   nothing is planned.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from imgdigest import reference as references
from imgdigest.documents import FileScan, HelmImage, ImageSite, Note, scan_text
from imgdigest.documents.finder import HELM_VALUES, read_file
from imgdigest.documents.helm_values import values_leaves
from imgdigest.documents.model import Scalar
from imgdigest.documents.yamltext import Document, iter_documents
from imgdigest.edits import Edit, apply_edits
from imgdigest.errors import ChartError, ImgdigestError
from imgdigest.kubernetes import Path as FieldPath
from imgdigest.kubernetes import field_path
from imgdigest.pin.digests import DigestSource
from imgdigest.pin.plan import (
    DEFAULT_PIN,
    Change,
    Failure,
    FilePlan,
    Mode,
    PinOptions,
    PinPlan,
    Target,
)
from imgdigest.pin.targets import pinned_state, rewritten

if TYPE_CHECKING:
    from imgdigest.check import CheckOptions, CheckReport
    from imgdigest.resolver import AsyncResolver, ResolveOptions

#: ``helm template`` may take this long before it is given up on.
RENDER_TIMEOUT = 300.0
_SOURCE = re.compile(r"^# Source: (\S+)", re.M)
_SET = "--set"


@dataclass(frozen=True, slots=True)
class ValuesSource:
    """One values file in play, and where its keys land in the merged values."""

    file: str  #: as the user named it (or as found in the chart)
    prefix: FieldPath  #: a subchart's key (``("cache",)``), empty for the chart's own
    scan: FileScan
    leaves: dict[FieldPath, Scalar]
    lists: list[FieldPath]


@dataclass(frozen=True, slots=True)
class Leaf:
    """The winning value of one merged key, and the source that set it (None: ``--set``)."""

    source: ValuesSource | None
    scalar: Scalar


@dataclass
class Entry:
    """An image entry of the merged values: a string, or a map assembled key by key."""

    path: FieldPath
    string: Leaf | None = None
    keys: dict[str, Leaf] = field(default_factory=dict)  #: registry, repository, tag, digest
    digest_key: str | None = None  #: the sibling digest key, when not ``digest``

    def helm_image(self, digest: bool = True) -> HelmImage | None:
        def get(key: str) -> Scalar | None:
            leaf = self.keys.get(key)
            return leaf.scalar if leaf is not None else None

        repository = get("repository")
        if repository is None:
            return None
        return HelmImage(
            registry=get("registry"),
            global_registry=get("global"),
            repository=repository,
            tag=get("tag"),
            digest=get("digest") if digest else None,
            digest_key=(self.digest_key or "digest") if digest and "digest" in self.keys else None,
        )

    @property
    def reference(self) -> str | None:
        if self.string is not None:
            return self.string.scalar.value
        image = self.helm_image()
        return image.reference if image is not None else None

    def edited(self, into_tag: bool) -> Leaf | None:
        """The key a pin edits: the string, the digest key, else the tag."""
        if self.string is not None:
            return self.string
        if "digest" in self.keys and not into_tag:
            return self.keys["digest"]
        return self.keys.get("tag")

    @property
    def feeds(self) -> Leaf | None:
        """The key a reader fixes: the string, else the tag (the repository without one)."""
        return self.string or self.keys.get("tag") or self.keys.get("repository")


@dataclass(frozen=True)
class RenderedImage:
    """One image of the rendered chart, and where it comes from."""

    template: str  #: the template file that rendered it, as ``helm template`` names it
    location: str  #: ``Deployment/r-web/spec.template.spec.containers[0].image``
    image: str  #: as first rendered
    digest: str | None = None  #: the digest this run pinned it to (None: not pinned by it)
    values: tuple[str, ...] = ()  #: ``file:line`` of each values key that feeds it
    literal: str | None = None  #: ``template:line`` when a template literal names it

    def to_json(self) -> dict[str, Any]:
        return {
            "template": self.template,
            "location": self.location,
            "image": self.image,
            "digest": self.digest,
            "values": list(self.values),
            "literal": self.literal,
        }


@dataclass
class ChartPlan:
    """``pin --chart``'s plan: the values edits (a ``PinPlan``) and every rendered image."""

    chart: str
    plan: PinPlan
    images: list[RenderedImage]

    @property
    def exit_code(self) -> int:
        return self.plan.exit_code

    @property
    def failures(self) -> list[Failure]:
        return self.plan.failures

    @property
    def changes(self) -> list[Change]:
        return self.plan.changes

    def write(self, partial: bool = False) -> list[str]:
        return self.plan.write(partial)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.plan.to_json(),
            "chart": self.chart,
            "images": [i.to_json() for i in self.images],
        }


# --- rendering ------------------------------------------------------------------------------


def find_helm(helm: str | None = None) -> str:
    """The ``helm`` to run: the one given, else the first on ``PATH``."""
    found = shutil.which(helm or "helm")
    if found is None:
        raise ChartError(
            f"{helm or 'helm'}: not found on PATH; --chart renders with Helm 3 or 4 "
            "(https://helm.sh/docs/intro/install/)",
            file=helm or "helm",
        )
    return found


def render(
    chart: str,
    values: Sequence[str] = (),
    set_values: Sequence[str] = (),
    *,
    release: str = "release",
    helm: str | None = None,
) -> str:
    """``helm template``'s output; its own message, on one line, when it fails."""
    command = [find_helm(helm), "template", release, chart]
    for path in values:
        command += ["-f", path]
    for item in set_values:
        command += [_SET, item]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_POST_RENDERER")}
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=RENDER_TIMEOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ChartError(
            f"{chart}: helm template did not finish in {RENDER_TIMEOUT:.0f}s", file=chart
        ) from None
    except OSError as exc:
        raise ChartError(f"{chart}: cannot run helm: {exc.strerror or exc}", file=chart) from None
    if done.returncode != 0:
        said = _helm_message(done.stderr) or f"exit status {done.returncode}"
        raise ChartError(f"{chart}: helm template failed: {said}", file=chart, reason=said)
    return done.stdout


def _helm_message(stderr: str) -> str:
    """Helm's ``Error:`` block on one line (Helm 4 spreads one error over several)."""
    lines = stderr.splitlines()
    start = next((i for i, x in enumerate(lines) if x.startswith("Error:")), None)
    if start is None:
        return next((x.strip() for x in reversed(lines) if x.strip()), "")
    block: list[str] = []
    for line in lines[start:]:
        if not line.strip() or line.startswith("Use --debug"):
            break
        block.append(line.strip())
    return " ".join(block).removeprefix("Error:").strip()


# --- the values in play ---------------------------------------------------------------------


def _subcharts(chart: Path, prefix: FieldPath) -> list[tuple[Path, FieldPath]]:
    """Each unpacked subchart under ``charts/`` and its key, deepest first."""
    aliases: dict[str, str] = {}
    meta = _load_yaml(chart / "Chart.yaml")
    for dep in meta.get("dependencies") or [] if isinstance(meta, dict) else []:
        if isinstance(dep, dict) and dep.get("alias") and dep.get("name"):
            aliases[str(dep["name"])] = str(dep["alias"])
    found: list[tuple[Path, FieldPath]] = []
    folder = chart / "charts"
    if not folder.is_dir():
        return found
    for sub in sorted(folder.iterdir()):
        if not (sub / "Chart.yaml").is_file():
            continue
        sub_meta = _load_yaml(sub / "Chart.yaml")
        name = str(sub_meta.get("name", sub.name)) if isinstance(sub_meta, dict) else sub.name
        key = (*prefix, aliases.get(name, name))
        found.extend(_subcharts(sub, key))
        found.append((sub, key))
    return found


def _load_yaml(path: Path) -> Any:
    from imgdigest.documents import load_all

    try:
        docs = load_all(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, yaml.YAMLError):  # a broken Chart.yaml is helm's to report
        return {}
    return docs[0] if docs else {}


def _values_source(file: str, prefix: FieldPath) -> ValuesSource:
    read, problem = read_file(Path(file), file)
    if read is None:
        raise problem if isinstance(problem, ImgdigestError) else ChartError(f"{file}: unreadable")
    text, encoding = read
    scan = scan_text(text, file, reader=HELM_VALUES)
    scan.encoding = encoding
    if scan.errors:
        raise scan.errors[0]
    leaves: dict[FieldPath, Scalar] = {}
    lists: list[FieldPath] = []
    base = 1 if text.startswith("\ufeff") else 0
    for doc in iter_documents(text[base:], file, None, base):
        if isinstance(doc, Document) and doc.node is not None:
            leaves, lists = values_leaves(doc, text)
            break
    return ValuesSource(file, prefix, scan, leaves, lists)


def _set_leaves(items: Sequence[str]) -> dict[FieldPath, Scalar]:
    """The keys ``--set a.b=c,d[0]=e`` sets (values as written; escapes honoured)."""
    out: dict[FieldPath, Scalar] = {}
    for item in items:
        for pair in re.split(r"(?<!\\),", item):
            key, sep, value = pair.partition("=")
            if not sep:
                continue
            path: list[str | int] = []
            for part in re.split(r"(?<!\\)\.", key):
                m = re.fullmatch(r"(.*?)((?:\[\d+\])*)", part.replace("\\.", "."))
                assert m is not None
                path.append(m.group(1))
                path.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
            value = value.replace("\\,", ",")
            out[tuple(path)] = Scalar(value, -1, -1, 0, 0, "plain", value)
    return out


def _merge(sources: Sequence[ValuesSource], sets: dict[FieldPath, Scalar]) -> dict[FieldPath, Leaf]:
    merged: dict[FieldPath, Leaf] = {}
    for source in sources:
        for lst in source.lists:
            whole = (*source.prefix, *lst)
            for path in [p for p in merged if p[: len(whole)] == whole]:
                del merged[path]
        for path, scalar in source.leaves.items():
            merged[(*source.prefix, *path)] = Leaf(source, scalar)
    for path, scalar in sets.items():
        merged[path] = Leaf(None, scalar)
    return merged


def _entries(sources: Sequence[ValuesSource], merged: dict[FieldPath, Leaf]) -> list[Entry]:
    shapes: dict[FieldPath, ImageSite] = {}
    for source in sources:
        for site in source.scan.sites:
            shapes[(*source.prefix, *site.path)] = site
    out: list[Entry] = []
    glob = merged.get(("global", "imageRegistry"))
    for path, site in shapes.items():
        entry = Entry(path)
        if not isinstance(site.detail, HelmImage):
            leaf = merged.get(path)
            if leaf is None:
                continue
            entry.string = leaf
        else:
            keys = ("registry", "repository", "tag", "digest")
            for key in keys:
                leaf = merged.get((*path, key))
                if leaf is not None:
                    entry.keys[key] = leaf
            if "repository" not in entry.keys and (*path, "image") in merged:
                entry.keys["repository"] = merged[(*path, "image")]
            sibling = site.detail.digest_key
            if sibling not in (None, "digest") and "digest" not in entry.keys:
                leaf = merged.get((*path[:-1], sibling))  # type: ignore[arg-type]
                if leaf is not None:
                    entry.keys["digest"] = leaf
                    entry.digest_key = sibling
            if glob is not None and glob.scalar.value and "registry" in entry.keys:
                entry.keys["global"] = glob
        if entry.reference:
            out.append(entry)
    return out


def _normal(image: str) -> str | None:
    try:
        return str(references.normalize(image))
    except ImgdigestError:
        return None


# --- tracing the rendered images ---------------------------------------------------------------


@dataclass
class _Rendered:
    index: int  #: of the site in the render's scan
    site: ImageSite
    template: str
    entries: list[Entry]
    literal: tuple[str, int] | None = None


def _template_path(chart: Path, source: str) -> Path:
    """``shapes/charts/cache/templates/x.yaml`` in the chart folder."""
    parts = source.split("/")[1:]
    return chart.joinpath(*parts) if parts else chart


def _literal(chart: Path, template: str, image: str) -> tuple[str, int] | None:
    path = _template_path(chart, template)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    at = text.find(image)
    if at < 0:
        return None
    return str(path), text.count("\n", 0, at) + 1


def _trace(chart: Path, output: str, entries: list[Entry]) -> tuple[FileScan, list[_Rendered]]:
    scan = scan_text(output, "helm template", reader="yaml")
    if scan.errors:
        raise ChartError(f"{chart}: helm template's output does not parse: {scan.errors[0]}")
    by_ref: dict[str, list[Entry]] = {}
    for entry in entries:
        ref = entry.reference
        key = _normal(ref) if ref else None
        if key is not None:
            by_ref.setdefault(key, []).append(entry)
    sources = _split_sources(output)
    rendered: list[_Rendered] = []
    for index, site in enumerate(scan.sites):
        if site.value_type != "str":
            continue
        template = _source_at(sources, site.start)
        key = _normal(site.image)
        found = by_ref.get(key, []) if key is not None else []
        item = _Rendered(index, site, template, found)
        if not found:
            item.literal = _literal(chart, template, site.image)
        rendered.append(item)
    return scan, rendered


def _split_sources(output: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group(1)) for m in _SOURCE.finditer(output)]


def _source_at(sources: list[tuple[int, str]], offset: int) -> str:
    name = ""
    for start, source in sources:
        if start > offset:
            break
        name = source
    return name


# --- pinning ------------------------------------------------------------------------------------


def _site_for(entry: Entry, leaf: Leaf, into_tag: bool) -> ImageSite:
    """A site in the file holding ``leaf``, standing for the whole entry."""
    assert leaf.source is not None
    s = leaf.scalar
    return ImageSite(
        file=leaf.source.file,
        line=s.line,
        column=s.column,
        start=s.start,
        end=s.end,
        image=entry.reference or "",
        raw=s.raw,
        quoting=s.quoting,
        source="helm",
        role="helm",
        name=field_path(entry.path),
        path=entry.path,
        detail=entry.helm_image(digest=not into_tag) if entry.string is None else None,
    )


@dataclass
class _Run:
    chart: Path
    values: list[str]
    set_values: list[str]
    release: str
    helm: str | None
    sources: list[ValuesSource]
    by_file: dict[str, ValuesSource]


def _sources(chart: Path, values: Sequence[str]) -> list[ValuesSource]:
    out: list[ValuesSource] = []
    for sub, key in _subcharts(chart, ()):
        if (sub / "values.yaml").is_file():
            out.append(_values_source(str(sub / "values.yaml"), key))
    if (chart / "values.yaml").is_file():
        out.append(_values_source(str(chart / "values.yaml"), ()))
    out.extend(_values_source(str(v), ()) for v in values)
    return out


def _prove(
    run: _Run,
    texts: dict[str, str],
) -> str:
    """Render the chart again with the edited values, in a scratch copy."""
    with tempfile.TemporaryDirectory(prefix="imgdigest-chart-") as tmp:
        copy = Path(tmp) / run.chart.name
        shutil.copytree(run.chart, copy, symlinks=True)
        mapped: list[str] = []
        for index, given in enumerate(run.values):
            dest = Path(tmp) / f"values-{index}{Path(given).suffix}"
            shutil.copyfile(given, dest)
            mapped.append(str(dest))
        for file, text in texts.items():
            data = text.encode(run.by_file[file].scan.encoding)
            for index, given in enumerate(run.values):  # an overlay, wherever it lies
                if given == file:
                    Path(mapped[index]).write_bytes(data)
            where = Path(file).resolve()
            if where.is_relative_to(run.chart.resolve()):
                (copy / where.relative_to(run.chart.resolve())).write_bytes(data)
        return render(str(copy), mapped, run.set_values, release=run.release, helm=run.helm)


def _check_proof(
    first: FileScan, second_text: str, traced: dict[int, str]
) -> tuple[str | None, list[int]]:
    """Why the second render is not the first with the traced images pinned, if it is not.

    Also returns the indexes of traced sites whose image has no digest yet.
    """
    second = scan_text(second_text, "helm template", reader="yaml")
    if len(second.sites) != len(first.sites):
        return "pinning changed which images the chart renders", []
    assert first.text is not None
    edits: list[Edit] = []
    missing: list[int] = []
    for index, (a, b) in enumerate(zip(first.sites, second.sites, strict=True)):
        if a.path != b.path or a.document != b.document:
            return f"pinning moved the image at {a.location}", []
        if a.raw != b.raw:
            edits.append(Edit(a.start, a.end, b.raw))
        if index in traced:
            if _digest_of(b.image) != traced[index]:
                missing.append(index)
            elif references.normalize(b.image).name != references.normalize(a.image).name:
                return f"pinning renamed the image at {a.location}: {b.image}", []
        elif a.raw != b.raw:
            return f"pinning changed an image it did not pin, at {a.location}: {b.image}", []
    if apply_edits(first.text, edits) != second_text:
        return "pinning changed the rendered output outside its images", []
    return None, missing


def _digest_of(image: str) -> str | None:
    try:
        return references.normalize(image).digest
    except ImgdigestError:
        return None


def _targets(
    run: _Run, rendered: list[_Rendered], into_tag: set[int], options: PinOptions
) -> tuple[list[tuple[int, Target]], list[Failure]]:
    """What each rendered image asks of its values entries (by the image's index)."""
    targets: list[tuple[int, Target]] = []
    failures: list[Failure] = []
    for item in rendered:
        site = item.site
        if _digest_of(site.image) is not None and (not options.update or not item.entries):
            continue
        if not item.entries:
            where, line = item.literal or (str(_template_path(run.chart, item.template)), None)
            why = "a template literal, not a values entry: pin it in the template"
            if item.literal is None:
                why = "no values entry renders it (set by a template's own logic)"
            failures.append(Failure(where, line, site.image, why))
            continue
        for entry in item.entries:
            leaf = entry.edited(id(entry) in into_tag)
            if leaf is None:
                continue
            if leaf.source is None:
                why = f"set with --set {field_path(entry.path)}: pin it there"
                failures.append(Failure(_SET, None, site.image, why))
                continue
            values_site = _site_for(entry, leaf, id(entry) in into_tag)
            tagged, current = pinned_state(values_site)
            if tagged is None or (current is not None and not options.update):
                continue
            s = leaf.scalar
            mode: Mode = "update" if current else "pin"
            target = Target(
                values_site, mode, tagged, current, s.start, s.end, s.raw, s.line, s.column
            )
            targets.append((item.index, target))
    return targets, failures


@dataclass
class _Edits:
    """The edits one attempt makes, per values file, and the digest each traced image gets."""

    edits: dict[str, dict[tuple[int, int], Edit]] = field(default_factory=dict)
    changes: dict[str, list[Change]] = field(default_factory=dict)
    traced: dict[int, str] = field(default_factory=dict)  #: rendered index -> digest

    def add(self, index: int, target: Target, digest: str, keep_tag: bool) -> None:
        self.traced[index] = digest
        new = rewritten(target, digest, keep_tag)
        file = target.site.file
        span = (target.start, target.end)
        if new == target.raw or span in self.edits.setdefault(file, {}):
            return
        self.edits[file][span] = Edit(target.start, target.end, new)
        line, column = target.line or target.site.line, target.column or target.site.column
        self.changes.setdefault(file, []).append(
            Change(
                file,
                line,
                column,
                target.raw,
                new,
                str(target.tagged),
                digest,
                target.mode,
                target.start,
                target.end,
            )
        )

    def texts(self, run: _Run) -> dict[str, str]:
        return {
            file: apply_edits(run.by_file[file].scan.text or "", list(spans.values()))
            for file, spans in self.edits.items()
            if spans
        }


async def _plan_chart(
    run: _Run,
    output: str,
    options: PinOptions,
    resolver: AsyncResolver | None,
) -> ChartPlan:
    merged = _merge(run.sources, _set_leaves(run.set_values))
    first, rendered = _trace(run.chart, output, _entries(run.sources, merged))
    source = DigestSource(options, resolver, None)
    into_tag: set[int] = set()  # ids of entries whose chart ignores their digest key
    while True:
        targets, failures = _targets(run, rendered, into_tag, options)
        answers = await source.answer([t for _, t in targets])
        made = _Edits()
        for index, target in targets:
            answer = answers[target.key]
            if isinstance(answer, ImgdigestError):
                reason, code = str(answer), answer.exit_code
                failures.append(
                    Failure(target.site.file, target.line, str(target.tagged), reason, code)
                )
            else:
                made.add(index, target, answer, options.keep_tag)
        texts = made.texts(run)
        problem: str | None = None
        if texts:
            second = await asyncio.to_thread(_prove, run, texts)
            problem, missing = _check_proof(first, second, made.traced)
            if problem is None and missing:
                at = {item.index: item for item in rendered}
                retry = {
                    id(e)
                    for i in missing
                    for e in at[i].entries
                    if "digest" in e.keys and id(e) not in into_tag
                }
                if retry:  # the chart ignores these digest keys: pin their tags instead
                    into_tag |= retry
                    continue
                names = ", ".join(first.sites[i].image for i in missing)
                problem = f"the chart still renders these without their digest: {names}"
        break
    plans = {s.file: FilePlan(s.scan) for s in run.sources}
    if problem is None:
        for file, plan in plans.items():
            plan.changes = sorted(made.changes.get(file, []), key=lambda c: c.start)
            plan.edits = list(made.edits.get(file, {}).values())
    else:
        failures.append(Failure(str(run.chart), None, "-", f"{problem}; nothing pinned"))
    for failure in failures:
        if failure.file not in plans:
            plans[failure.file] = FilePlan(FileScan(file=failure.file, path=None))
        plans[failure.file].failures.append(failure)
    images = [_image(item, made.traced, problem is None) for item in rendered]
    pin_plan = PinPlan(
        files=list(plans.values()), resolved=len(answers), from_lock=source.from_lock
    )
    return ChartPlan(str(run.chart), pin_plan, images)


def _image(item: _Rendered, traced: dict[int, str], ok: bool) -> RenderedImage:
    pinned = None
    if ok and item.index in traced:
        pinned = traced[item.index]
    values = tuple(
        f"{leaf.source.file}:{leaf.scalar.line}"
        for entry in item.entries
        if (leaf := entry.feeds) is not None and leaf.source is not None
    )
    literal = f"{item.literal[0]}:{item.literal[1]}" if item.literal else None
    return RenderedImage(
        item.template, item.site.location, item.site.image, pinned, values, literal
    )


def _prepare(
    chart: str | Path,
    values: Sequence[str | Path],
    set_values: Sequence[str],
    release: str,
    helm: str | None,
) -> tuple[_Run, str]:
    root = Path(chart)
    if not (root / "Chart.yaml").is_file():
        raise ChartError(f"{chart}: not a chart (no Chart.yaml)", file=str(chart))
    given = [str(v) for v in values]
    output = render(str(root), given, set_values, release=release, helm=helm)
    sources = _sources(root, given)
    run = _Run(root, given, list(set_values), release, helm, sources, {s.file: s for s in sources})
    return run, output


def pin_chart(
    chart: str | Path,
    values: Sequence[str | Path] = (),
    set_values: Sequence[str] = (),
    options: PinOptions = DEFAULT_PIN,
    resolve_options: ResolveOptions | None = None,
    *,
    release: str = "release",
    helm: str | None = None,
) -> ChartPlan:
    """Render ``chart``, pin the values entries its images come from, and prove it by rendering.

    ``values`` are the ``-f`` files and ``set_values`` the ``--set`` items, as ``helm
    template`` takes them. Nothing is written: ``ChartPlan.write()`` does that.
    """
    run, output = _prepare(chart, values, set_values, release, helm)
    if options.offline:
        return asyncio.run(_plan_chart(run, output, options, None))
    from imgdigest.resolver import run_with_resolver

    return run_with_resolver(resolve_options, lambda r: _plan_chart(run, output, options, r))


async def plan_chart(
    chart: str | Path,
    values: Sequence[str | Path] = (),
    set_values: Sequence[str] = (),
    options: PinOptions = DEFAULT_PIN,
    resolver: AsyncResolver | None = None,
    *,
    release: str = "release",
    helm: str | None = None,
) -> ChartPlan:
    """``pin_chart`` through a resolver the caller owns (None: the lock only)."""
    run, output = await asyncio.to_thread(_prepare, chart, values, set_values, release, helm)
    return await _plan_chart(run, output, options, None if options.offline else resolver)


def chart_sites(
    chart: str | Path,
    values: Sequence[str | Path] = (),
    set_values: Sequence[str] = (),
    *,
    release: str = "release",
    helm: str | None = None,
) -> tuple[list[tuple[ImageSite, ImageSite | None]], list[Note]]:
    """Each rendered image's site, with the values site that feeds it (None: a literal).

    A literal's site is moved to its template file and line when the template names it.
    """
    run, output = _prepare(chart, values, set_values, release, helm)
    merged = _merge(run.sources, _set_leaves(run.set_values))
    _, rendered = _trace(run.chart, output, _entries(run.sources, merged))
    out: list[tuple[ImageSite, ImageSite | None]] = []
    notes: list[Note] = []  # the render answers what the values files alone left open
    for item in rendered:
        site = replace(item.site, file=str(_template_path(run.chart, item.template)))
        feeding: ImageSite | None = None
        for entry in item.entries:
            leaf = entry.feeds
            if leaf is not None and leaf.source is not None:
                feeding = replace(
                    _site_for(entry, leaf, False), image=item.site.image, value_type="str"
                )
                break
            if leaf is not None:
                notes.append(Note(_SET, None, f"{item.site.image}: set with --set"))
        if feeding is None and item.literal is not None:
            site = replace(site, file=item.literal[0], line=item.literal[1], column=1)
        elif feeding is None:  # named by a template's own logic: where it renders
            site = replace(site, file=f"{site.file} (rendered)")
        out.append((site, feeding))
    return out, notes


def check_chart(
    chart: str | Path,
    values: Sequence[str | Path] = (),
    set_values: Sequence[str] = (),
    options: CheckOptions | None = None,
    *,
    release: str = "release",
    helm: str | None = None,
) -> CheckReport:
    """``check`` of what ``chart`` renders, each finding at the values line that feeds it.

    An image from a template literal is reported at its template's line; ``detail`` says
    where each image renders.
    """
    from imgdigest.check import CheckOptions, CheckReport, Violation, label, message, site_violation

    options = options or CheckOptions()
    pairs, notes = chart_sites(chart, values, set_values, release=release, helm=helm)
    report = CheckReport(notes=notes)
    files: list[str] = []
    for site, feeding in pairs:
        report.images += 1
        violation = site_violation(site, options)
        if violation is None:
            continue
        rendered = f"rendered in {site.file} as {label(site)}"
        if feeding is not None:
            who = f"Helm value <{feeding.field_path}>"
            text = message(who, violation.rule, site.image)
            found = Violation(feeding, violation.rule, text, rendered)
        else:
            found = replace(violation, detail="a template literal, not a values entry")
        report.violations.append(found)
        files.append(found.file)
    report.files = list(dict.fromkeys([str(chart), *files]))
    report.violations.sort(key=lambda v: (v.file, v.line, v.column))
    return report
