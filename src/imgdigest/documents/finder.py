"""The image finder: paths in, one ``FileScan`` per file out, streamed.

This is the one place that decides which reader handles a file, so ``check``, ``pin``
and anything else that looks for images agree on what a file contains:

* by name - ``Dockerfile``/``Containerfile`` (and ``*.Dockerfile``, ``Dockerfile.*``),
  ``kustomization.yaml``, Compose files (``compose.yaml``, ``docker-compose*.yml``),
  workflows under ``.github/workflows/`` and ``action.yml``;
* any other ``.yaml``/``.yml``/``.json`` file is read document by document, each one
  sniffed: an object with ``kind``/``apiVersion`` is Kubernetes (a ``Kustomization``
  is a kustomization), one with ``services`` is Compose, one with ``jobs`` a workflow.

A file named explicitly is read whatever its name (stdin too, sniffed as a Dockerfile
when it starts with ``FROM``/``ARG``); a directory walk only picks names it knows.
Problems stay with their file: unreadable, binary or non-UTF-8 files, Helm chart
templates and symlinks leading out of the tree become notes or errors on that file's
``FileScan`` and the walk goes on.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from yaml.nodes import MappingNode

from imgdigest.documents.actions import actions_sites
from imgdigest.documents.compose import compose_sites
from imgdigest.documents.dockerfile import dockerfile_sites
from imgdigest.documents.kube import kubernetes_sites
from imgdigest.documents.kustomize import kustomize_sites
from imgdigest.documents.model import DocumentSyntaxError, FileScan, ImageSite, Note
from imgdigest.documents.yamltext import Document, document_kind, get, iter_documents, text_of
from imgdigest.kubernetes import NO_EXTRA_PATHS, NO_IMAGE_KINDS, ExtraPaths, Scope

STDIN = "-"

_COMPOSE_NAME = re.compile(r"^(docker-)?compose([.-][^/]*)?\.ya?ml$")
_YAML_SUFFIXES = (".yaml", ".yml", ".json")
_DOCKERFILE_FIRST = re.compile(r"^\s*(?:#[^\n]*\n\s*)*(?:FROM|ARG)\s", re.I)
_KUSTOMIZE_KINDS = ("Kustomization", "Component")


@dataclass(frozen=True, slots=True)
class FinderOptions:
    """What to look at and how."""

    exclude: tuple[
        str, ...
    ] = ()  #: globs; with a ``/`` matched on the relative path, else on names
    extra: ExtraPaths = NO_EXTRA_PATHS  #: pod-spec and image paths of custom resources
    scope: Scope = "workloads"  #: ``gatekeeper``: only what the Gatekeeper template reads
    parse_all: bool = False  #: parse even documents that cannot hold an image (to validate them)


DEFAULT_OPTIONS = FinderOptions()


def classify(path: str) -> str | None:
    """Which reader a file's name calls for: dockerfile, kustomize, compose, actions, yaml."""
    posix = path.replace(os.sep, "/")
    base = posix.rsplit("/", 1)[-1]
    lower = base.lower()
    if lower in ("dockerfile", "containerfile") or lower.startswith(
        ("dockerfile.", "containerfile.")
    ):
        return "dockerfile"
    if lower.endswith((".dockerfile", ".containerfile")):
        return "dockerfile"
    if lower in ("kustomization.yaml", "kustomization.yml", "kustomization"):
        return "kustomize"
    if _COMPOSE_NAME.match(lower):
        return "compose"
    if lower.endswith((".yaml", ".yml")) and (
        "/.github/workflows/" in f"/{posix}" or lower in ("action.yml", "action.yaml")
    ):
        return "actions"
    if lower.endswith(_YAML_SUFFIXES):
        return "yaml"
    return None


def _wanted(options: FinderOptions) -> Callable[[str], bool] | None:
    """The pre-filter: parse only documents that could hold an image."""
    if options.parse_all:
        return None
    extra_kinds = options.extra.kinds

    def wanted(chunk: str) -> bool:
        if "image" not in chunk and "container" not in chunk and "docker:" not in chunk:
            return False
        kind = document_kind(chunk)
        return kind is None or kind not in NO_IMAGE_KINDS or kind in extra_kinds

    return wanted


def _sniff(doc: Document, scope: Scope) -> str | None:
    root = doc.node
    if not isinstance(root, MappingNode):
        return None
    kind = text_of(get(root, "kind"))
    if kind is not None or get(root, "apiVersion") is not None:
        return "kustomize" if kind in _KUSTOMIZE_KINDS else "kubernetes"
    if get(root, "services") is not None:
        return "compose"
    if get(root, "jobs") is not None or get(root, "runs") is not None:
        return "actions"
    if get(root, "images") is not None:
        return "kustomize"
    if scope == "gatekeeper" and get(root, "spec") is not None:
        return "kubernetes"  # the template judges any object under review, kind or not
    return None


def _yaml_sites(
    scan: FileScan, parse_text: str, base: int, reader: str, options: FinderOptions
) -> None:
    assert scan.text is not None
    full = scan.text
    scope = options.scope
    for doc in iter_documents(parse_text, scan.file, _wanted(options), base):
        if isinstance(doc, DocumentSyntaxError):
            if "{{" in full:
                scan.notes.append(
                    Note(scan.file, doc.line, "Helm template left alone (not YAML until rendered)")
                )
            else:
                scan.errors.append(doc)
            continue
        scan.documents = doc.index + 1
        if doc.node is None:
            continue
        what = _sniff(doc, scope) if reader == "yaml" else reader
        if scope == "gatekeeper" and what != "kubernetes":
            continue
        if what == "kubernetes":
            found: Iterable[ImageSite | Note] = kubernetes_sites(
                doc, full, scan.file, scope=scope, extra=options.extra
            )
        elif what == "kustomize":
            found = kustomize_sites(doc, full, scan.file)
        elif what == "compose":
            found = compose_sites(doc, full, scan.file)
        elif what == "actions":
            found = actions_sites(doc, full, scan.file)
        else:
            continue
        for item in found:
            (scan.sites if isinstance(item, ImageSite) else scan.notes).append(item)  # type: ignore[arg-type]


def _mark_shared(sites: list[ImageSite]) -> list[ImageSite]:
    """Sites sharing one span (YAML aliases) are all marked: editing one edits them all."""
    seen: dict[int, int] = {}
    for site in sites:
        seen[site.start] = seen.get(site.start, 0) + 1
    if all(count == 1 for count in seen.values()):
        return sites
    from dataclasses import replace

    return [replace(s, alias=True) if seen[s.start] > 1 and not s.alias else s for s in sites]


def scan_text(
    text: str,
    file: str = STDIN,
    *,
    reader: str | None = None,
    options: FinderOptions = DEFAULT_OPTIONS,
) -> FileScan:
    """Find the images in one file's text. ``reader`` overrides the choice by name."""
    scan = FileScan(file=file, path=None if file == STDIN else Path(file), text=text)
    if reader is None:
        reader = classify(file) if file != STDIN else None
    if reader is None:
        reader = "dockerfile" if _DOCKERFILE_FIRST.match(text.lstrip("\ufeff")) else "yaml"
    scan.source = reader
    base = 1 if text.startswith("\ufeff") else 0
    parse_text = text[base:]
    if reader == "dockerfile":
        if options.scope != "gatekeeper":
            for item in dockerfile_sites(parse_text, file, base):
                (scan.sites if isinstance(item, ImageSite) else scan.notes).append(item)  # type: ignore[arg-type]
        return scan
    if file.lower().endswith(".json") and "\t" in parse_text:
        # JSON allows tab indentation, YAML does not; outside strings a tab is only
        # whitespace and inside them JSON forbids it raw, so a space keeps every offset.
        parse_text = parse_text.replace("\t", " ")
    _yaml_sites(scan, parse_text, base, reader, options)
    scan.sites = _mark_shared(scan.sites)
    return scan


def read_file(path: Path, file: str) -> tuple[str | None, Note | DocumentSyntaxError | None]:
    """The file's text, or why it is skipped (a note) or unreadable (an error)."""
    try:
        data = sys.stdin.buffer.read() if file == STDIN else path.read_bytes()
    except OSError as exc:
        return None, DocumentSyntaxError(file, None, f"cannot read: {exc.strerror or exc}")
    if b"\0" in data[:8192]:
        return None, Note(file, None, "binary file skipped")
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, Note(file, None, f"not UTF-8 (byte {exc.start}), skipped")


def scan_file(
    path: str | Path, *, reader: str | None = None, options: FinderOptions = DEFAULT_OPTIONS
) -> FileScan:
    """Read and scan one file (``-`` for stdin)."""
    file = str(path)
    text, problem = read_file(Path(file), file)
    if text is None:
        scan = FileScan(file=file, path=None if file == STDIN else Path(file))
        if isinstance(problem, Note):
            scan.notes.append(problem)
        elif problem is not None:
            scan.errors.append(problem)
        return scan
    return scan_text(text, file, reader=reader, options=options)


def _excluded(rel: str, patterns: tuple[str, ...]) -> bool:
    if not patterns:
        return False
    parts = rel.split("/")
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if "/" in pattern:
            if fnmatch.fnmatchcase(rel, pattern) or fnmatch.fnmatchcase(rel, pattern + "/*"):
                return True
        elif any(fnmatch.fnmatchcase(part, pattern) for part in parts):
            return True
    return False


def _helm_template(path: Path, cache: dict[Path, bool]) -> bool:
    """Inside a chart's ``templates/`` folder (a ``Chart.yaml`` beside it)."""
    for parent in path.parents:
        if parent.name == "templates":
            chart = parent.parent
            if chart not in cache:
                cache[chart] = (chart / "Chart.yaml").is_file()
            if cache[chart]:
                return True
    return False


def _walk(root: Path, display: str, options: FinderOptions) -> Iterator[FileScan]:
    real_root = root.resolve()
    charts: dict[Path, bool] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        rel_dir = here.relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        kept = []
        for name in sorted(dirnames):
            if name == ".git" or _excluded(rel_dir + name, options.exclude):
                continue
            if (here / name).is_symlink():
                continue
            kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            rel = rel_dir + name
            reader = classify(rel)
            if reader is None or _excluded(rel, options.exclude):
                continue
            path = here / name
            file = os.path.join(display, rel) if display not in ("", ".") else rel
            if path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(real_root):
                    yield FileScan(
                        file=file,
                        path=path,
                        notes=[Note(file, None, "symlink out of the tree not followed")],
                    )
                    continue
            if _helm_template(path, charts):
                yield FileScan(
                    file=file, path=path, notes=[Note(file, None, "Helm chart template left alone")]
                )
                continue
            yield scan_file(file, reader=reader, options=options)


def find_images(
    paths: Iterable[str | Path], options: FinderOptions = DEFAULT_OPTIONS
) -> Iterator[FileScan]:
    """One ``FileScan`` per file under ``paths``, in order; directories are walked."""
    for given in paths:
        file = str(given)
        if file == STDIN:
            yield scan_file(STDIN, options=options)
            continue
        path = Path(file)
        if path.is_dir():
            yield from _walk(path, file, options)
        elif path.exists():
            if _excluded(path.as_posix().removeprefix("./"), options.exclude):
                continue  # pre-commit names files one by one; the excludes still apply
            if _helm_template(path.resolve(), {}):
                yield FileScan(
                    file=file, path=path, notes=[Note(file, None, "Helm chart template left alone")]
                )
                continue
            yield scan_file(file, options=options)
        else:
            scan = FileScan(file=file, path=path)
            scan.errors.append(DocumentSyntaxError(file, None, "no such file or directory"))
            yield scan


def iter_sites(
    paths: Iterable[str | Path], options: FinderOptions = DEFAULT_OPTIONS
) -> Iterator[ImageSite]:
    """Just the sites, for callers that do not care about notes and errors."""
    for scan in find_images(paths, options):
        yield from scan.sites
