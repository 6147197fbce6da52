"""The values a chart renders with, merged as Helm merges them, and the image entries in them.

Each subchart's ``values.yaml`` lands under its key (its alias when ``Chart.yaml`` gives
one), then the chart's own, the ``-f`` overlays and ``--set``: key by key, later sources
winning, a list replaced whole. Every merged key remembers the file and span that set it,
so a pin can be written where the winning value was written. An image entry is one of the
shapes ``documents.helm_values`` reads; a shape with keys of its own is taught to
``image_entries`` too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from imgdigest.documents import FileScan, HelmImage, ImageSite, scan_text
from imgdigest.documents.finder import HELM_VALUES, read_file
from imgdigest.documents.helm_values import values_leaves
from imgdigest.documents.model import Scalar
from imgdigest.documents.yamltext import Document, iter_documents
from imgdigest.errors import ChartError, ImgdigestError
from imgdigest.kubernetes import Path as FieldPath
from imgdigest.kubernetes import field_path


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


def values_sources(chart: Path, values: Sequence[str]) -> list[ValuesSource]:
    """The values files in play, in Helm's order: subcharts', the chart's, the ``-f`` files."""
    out: list[ValuesSource] = []
    for sub, key in _subcharts(chart, ()):
        if (sub / "values.yaml").is_file():
            out.append(_values_source(str(sub / "values.yaml"), key))
    if (chart / "values.yaml").is_file():
        out.append(_values_source(str(chart / "values.yaml"), ()))
    out.extend(_values_source(str(v), ()) for v in values)
    return out


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


def set_leaves(items: Sequence[str]) -> dict[FieldPath, Scalar]:
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


def merge_values(
    sources: Sequence[ValuesSource], sets: dict[FieldPath, Scalar]
) -> dict[FieldPath, Leaf]:
    """Every merged key's winning leaf: later sources win, a list is replaced whole."""
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


def image_entries(sources: Sequence[ValuesSource], merged: dict[FieldPath, Leaf]) -> list[Entry]:
    """The image entries of the merged values, each key taken from the source that won it."""
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


def site_for(entry: Entry, leaf: Leaf, into_tag: bool) -> ImageSite:
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
