"""The image finder: paths in, one ``FileScan`` per file out, streamed.

This is the one place that decides which reader handles a file, so ``check``, ``pin``
and anything else that looks for images agree on what a file contains:

* by name - ``Dockerfile``/``Containerfile`` (and ``*.Dockerfile``, ``Dockerfile.*``),
  ``kustomization.yaml``, Compose files (``compose.yaml``, ``docker-compose*.yml``),
  workflows under ``.github/workflows/`` and ``action.yml``;
* Helm values files: ``values*.yaml``/``.yml`` beside a ``Chart.yaml`` (a chart's and
  each subchart's), and a file named explicitly whose name has ``values`` as a word
  (``values-prod.yaml``, ``prod.values.yml``: the ``-f`` overlays users pass). A values
  document that is a Kubernetes object after all (``apiVersion`` and ``kind`` at its
  root) is read as one; a program can also ask for the ``helm-values`` reader by name;
* any other ``.yaml``/``.yml``/``.json`` file is read document by document, each one
  sniffed: an object with ``kind``/``apiVersion`` is Kubernetes (a ``Kustomization``
  is a kustomization), one with ``services`` is Compose, one with ``jobs`` a workflow.

A file named explicitly is read whatever its name (stdin too, sniffed as a Dockerfile
when it starts with ``FROM``/``ARG``); a directory walk only picks names it knows.
Problems stay with their file and the walk goes on. Left alone with a note: FIFOs,
devices, symlink loops and symlinks leading out of the tree, Helm templates (files under
a chart's ``templates/``: not YAML until rendered). An error,
which fails a check: a file that cannot be read or decoded (a byte-order mark selects
UTF-16/32, as in kubectl; anything else must be UTF-8 without NUL bytes), and any
unexpected failure while reading one file.
"""

from __future__ import annotations

import _thread
import errno
import fnmatch
import gc
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.nodes import MappingNode

from imgdigest.documents.actions import actions_sites
from imgdigest.documents.compose import compose_sites
from imgdigest.documents.dockerfile import dockerfile_sites
from imgdigest.documents.helm_values import helm_values_sites
from imgdigest.documents.kubernetes_sites import kubernetes_sites
from imgdigest.documents.kustomize import kustomize_sites
from imgdigest.documents.model import DocumentSyntaxError, FileScan, ImageSite, Note
from imgdigest.documents.yamltext import (
    Document,
    document_kind,
    get,
    iter_documents,
    text_of,
    yaml_error,
)
from imgdigest.kubernetes import NO_EXTRA_PATHS, NO_IMAGE_KINDS, ExtraPaths, Scope

STDIN = "-"

_COMPOSE_NAME = re.compile(r"^(docker-)?compose([.-][^/]*)?\.ya?ml$")
_YAML_SUFFIXES = (".yaml", ".yml", ".json")
_DOCKERFILE_FIRST = re.compile(r"^\s*(?:#[^\n]*\n\s*)*(?:FROM|ARG)\s", re.I)
_KUSTOMIZE_KINDS = ("Kustomization", "Component")
_HELM_NOTE = "Helm template left alone (not YAML until rendered)"
#: A chart's values files, beside its ``Chart.yaml``.
_CHART_VALUES = re.compile(r"^values([._-][^/]*)?\.ya?ml$")
#: A values file named on the command line: ``values`` as a word of the name.
_NAMED_VALUES = re.compile(r"(^|[._-])values([._-][^/]*)?\.ya?ml$")
HELM_VALUES = "helm-values"


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


def values_name(path: str) -> bool:
    """A name users give Helm values files (``values.yaml``, ``values-prod.yml``...)."""
    return _NAMED_VALUES.search(path.replace(os.sep, "/").rsplit("/", 1)[-1].lower()) is not None


#: Words every key that holds an image is spelled with (``image``, ``*Containers``, the
#: Actions ``container`` and ``docker://``): a document without one names no image.
_IMAGE_WORDS = ("image", "container", "docker:")
#: Double-quoted escapes that spell any character ("im\x61ge" is "image"), and the
#: escaped line break that joins two lines: where they occur the words may be hidden.
_SPELLING_ESCAPE = re.compile(r"\\[xuU\r\n]")


def _wanted(options: FinderOptions, reader: str) -> Callable[[str], bool] | None:
    """The pre-filter: parse only documents that could hold an image."""
    if options.parse_all or reader == HELM_VALUES:  # any key ending in "Image" may hold one
        return None
    extra_kinds = options.extra.kinds
    # A configured image path may end in any key: such documents are known by their kind.
    words = (*_IMAGE_WORDS, *sorted(extra_kinds))

    def wanted(chunk: str) -> bool:
        if not any(word in chunk for word in words) and not (
            "\\" in chunk and _SPELLING_ESCAPE.search(chunk)
        ):
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


def _manifest(doc: Document) -> bool:
    """A document with ``apiVersion`` and ``kind`` at its root: Kubernetes, not values."""
    root = doc.node
    return get(root, "apiVersion") is not None and get(root, "kind") is not None


def _yaml_sites(
    scan: FileScan, parse_text: str, base: int, reader: str, options: FinderOptions
) -> None:
    assert scan.text is not None
    full = scan.text
    scope = options.scope
    for doc in iter_documents(parse_text, scan.file, _wanted(options, reader), base):
        if isinstance(doc, DocumentSyntaxError):
            if "{{" in full:
                scan.notes.append(Note(scan.file, doc.line, _HELM_NOTE))
            else:
                scan.errors.append(doc)
            continue
        scan.documents = doc.index + 1
        if doc.node is None:
            continue
        what = _sniff(doc, scope) if reader == "yaml" else reader
        if what == HELM_VALUES and _manifest(doc):
            what = _sniff(doc, scope)
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
        elif what == HELM_VALUES:
            found = helm_values_sites(doc, full, scan.file)
        else:
            continue
        try:
            items = list(found)
        except yaml.YAMLError as exc:  # a value no YAML reader can build: {{ x }}: as a key
            problem = yaml_error(scan.file, exc, doc.offset, doc.line)
            if "{{" in full:
                scan.notes.append(Note(scan.file, problem.line, _HELM_NOTE))
            else:
                scan.errors.append(problem)
            continue
        for item in items:
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
        if reader == "yaml" and values_name(file):
            reader = HELM_VALUES
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


#: Byte-order marks and the codec that keeps the mark as the text's first character
#: (``U+FEFF``), so offsets and a write-back stay byte-exact. UTF-32 comes first: its
#: little-endian mark starts with UTF-16's.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)

_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def decode(data: bytes, file: str) -> tuple[str, str]:
    """The text and its codec, read as kubectl reads it: a BOM says UTF-16/32, else UTF-8.

    Anything that cannot be read that way raises ``DocumentSyntaxError`` naming the file
    and line: a check must fail on a file it could not read, never pass it.
    """
    encoding = next((codec for bom, codec in _BOMS if data.startswith(bom)), "utf-8")
    if encoding == "utf-8":
        nul = data.find(b"\0")
        if nul >= 0:
            line = data.count(b"\n", 0, nul) + 1
            raise DocumentSyntaxError(file, line, "NUL byte: not a text file, cannot be checked")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1 if encoding == "utf-8" else None
        where = f"byte 0x{data[exc.start]:02x} at offset {exc.start}"
        name = encoding.upper().replace("-LE", "LE").replace("-BE", "BE")
        problem = f"not valid {name} ({where}), cannot be checked"
        raise DocumentSyntaxError(file, line, problem) from None
    if encoding != "utf-8" and "\0" in text:
        line = text.count("\n", 0, text.index("\0")) + 1
        raise DocumentSyntaxError(file, line, "NUL character: not a text file, cannot be checked")
    return text, encoding


def read_file(
    path: Path, file: str, *, walked: bool = False
) -> tuple[tuple[str, str] | None, Note | DocumentSyntaxError | None]:
    """The file's text and codec, or why it is skipped (a note) or unreadable (an error).

    Nothing here can block: a FIFO found by a walk is skipped unopened, and one named on
    the command line (``<(helm template ...)``) is opened without waiting for a writer.
    Devices are never read (``/dev/zero`` never ends).
    """
    if file == STDIN:
        data = sys.stdin.buffer.read()
    else:
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            return None, _unreadable(file, exc, walked)
        if not stat.S_ISREG(mode) and (walked or not stat.S_ISFIFO(mode)):
            kind = _kind(mode)
            if walked:
                return None, Note(file, None, f"{kind}, not a regular file: skipped")
            return None, DocumentSyntaxError(file, None, f"{kind}, not a regular file")
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            return None, _unreadable(file, exc, walked)
        try:
            os.set_blocking(fd, True)  # no writer: EOF at once; a writer: read what it sends
            with os.fdopen(fd, "rb") as f:
                data = f.read()
        except OSError as exc:
            return None, _unreadable(file, exc, walked)
        if not data and stat.S_ISFIFO(mode):
            return None, Note(file, None, "a FIFO with no writer: nothing to read")
    try:
        return decode(data, file), None
    except DocumentSyntaxError as exc:
        return None, exc


def _unreadable(file: str, exc: OSError, walked: bool) -> Note | DocumentSyntaxError:
    if exc.errno == errno.ELOOP:
        if walked:
            return Note(file, None, "symlink loop: skipped")
        return DocumentSyntaxError(file, None, "symlink loop")
    if exc.errno == errno.ENOENT and walked:
        return Note(file, None, "broken symlink: skipped")
    return DocumentSyntaxError(file, None, f"cannot read: {exc.strerror or exc}")


def scan_file(
    path: str | Path,
    *,
    reader: str | None = None,
    options: FinderOptions = DEFAULT_OPTIONS,
    walked: bool = False,
) -> FileScan:
    """Read and scan one file (``-`` for stdin); a crash stays with the file it happened in."""
    file = str(path)
    read, problem = read_file(Path(file), file, walked=walked)
    if read is None:
        scan = FileScan(file=file, path=None if file == STDIN else Path(file))
        if isinstance(problem, Note):
            scan.notes.append(problem)
        elif problem is not None:
            scan.errors.append(problem)
        return scan
    text, encoding = read
    try:
        scan = scan_text(text, file, reader=reader, options=options)
    except Exception as exc:  # one file's bug must not lose the report on the others
        scan = FileScan(file=file, path=None if file == STDIN else Path(file))
        scan.errors.append(
            DocumentSyntaxError(file, None, f"internal error while scanning: {exc!r}")
        )
        return scan
    scan.encoding = encoding
    return scan


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
            if reader == "yaml" and _CHART_VALUES.match(name.lower()) and "Chart.yaml" in filenames:
                reader = HELM_VALUES
            path = here / name
            file = os.path.join(display, rel) if display not in ("", ".") else rel
            if path.is_symlink():
                target = Path(os.path.realpath(path))  # a loop stays unresolved, never raises
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
            yield scan_file(file, reader=reader, options=options, walked=True)


#: Allocations between two young-generation collections while files are scanned.
GC_YOUNG = 10_000
_gc_lock = _thread.allocate_lock()
_raised = 0  #: scans running inside ``fewer_collections`` now
_saved: tuple[int, ...] = gc.get_threshold()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often while YAML is composed.

    A document's nodes are young objects that live until the document is read, then die
    by reference counting (a node graph has no cycles); at Python's default threshold
    (700) the collector runs thousands of times over nodes about to be freed, and each
    older-generation pass also walks everything the caller keeps (a report's findings):
    a fifth of ``pin``'s scan of a large tree, a third of ``check``'s. The collector still
    runs every ``GC_YOUNG`` allocations; the settings come back when the last scan ends.
    """
    global _raised, _saved
    with _gc_lock:
        if _raised == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(max(_saved[0], GC_YOUNG), *_saved[1:])
        _raised += 1
    try:
        yield
    finally:
        with _gc_lock:
            _raised -= 1
            if _raised == 0:
                gc.set_threshold(*_saved)


def find_images(
    paths: Iterable[str | Path], options: FinderOptions = DEFAULT_OPTIONS
) -> Iterator[FileScan]:
    """One ``FileScan`` per file under ``paths``, in order; directories are walked."""
    with fewer_collections():
        yield from _find_images(paths, options)


def _find_images(paths: Iterable[str | Path], options: FinderOptions) -> Iterator[FileScan]:
    for given in paths:
        file = str(given)
        if file == STDIN:
            yield scan_file(STDIN, options=options)
            continue
        path = Path(file)
        if path.is_dir():
            yield from _walk(path, file, options)
        elif path.exists() or path.is_symlink():  # a loop or dangling link: say which
            if _excluded(path.as_posix().removeprefix("./"), options.exclude):
                continue  # pre-commit names files one by one; the excludes still apply
            if _helm_template(Path(os.path.realpath(path)), {}):
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
