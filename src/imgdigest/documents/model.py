"""The records the image finder produces: sites, notes, per-file results.

An ``ImageSite`` carries everything its three consumers need: ``check`` wants the
location and the words of the Gatekeeper message (role, container name), ``pin`` wants
the exact character span of the value and how it is quoted so it can replace those
characters and nothing else, the webhook wants the field path as a JSON pointer.

Offsets index the decoded file text (``FileScan.text``), a Python ``str``: they count
characters, not bytes, exactly as libyaml's marks do. ``text[start:end] == image`` holds
whenever ``exact`` is true; a site whose value is spelled differently in the file
(escapes, a folded multi-line scalar, a kustomize entry split over keys) is reported
with ``exact = False`` so an editor can refuse it or handle it on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from imgdigest.errors import DocumentError
from imgdigest.kubernetes import Path as FieldPath
from imgdigest.kubernetes import field_path, json_pointer

#: What a site is; the first three are the Gatekeeper template's own words.
Role = Literal[
    "container",
    "initContainer",
    "ephemeralContainer",
    "imageVolume",
    "image",
    "kustomize",
    "dockerfile",
    "compose",
    "actions",
    "helm",
]
#: How the value is written: YAML scalar styles, or ``bare`` for a Dockerfile token.
Quoting = Literal["plain", "single", "double", "literal", "folded", "bare"]
#: What kind of file the site came from.
Source = Literal["kubernetes", "kustomize", "dockerfile", "compose", "actions", "helm"]


@dataclass(frozen=True, slots=True)
class Scalar:
    """A YAML scalar with its span in the file text (quotes excluded)."""

    value: str
    start: int
    end: int
    line: int
    column: int
    quoting: Quoting
    raw: str

    @property
    def exact(self) -> bool:
        return self.raw == self.value


@dataclass(frozen=True, slots=True)
class KustomizeImage:
    """One ``images:`` entry of a kustomization, key by key.

    kustomize ignores ``newTag`` when ``digest`` is set, so an editor must either write
    ``newTag: TAG@DIGEST`` or replace the tag on purpose; it needs every key's span,
    and where a new key would go (``key_column``; -1 for a flow mapping).
    """

    name: Scalar | None
    new_name: Scalar | None
    new_tag: Scalar | None
    digest: Scalar | None
    entry_start: int
    entry_end: int
    key_column: int
    flow: bool


@dataclass(frozen=True, slots=True)
class HelmImage:
    """An image a Helm values map assembles from several keys, key by key.

    A chart renders ``registry/repository:tag``, or ``registry/repository@digest`` once
    the digest key is set (Bitnami's helper drops the tag then), so a pin goes into the
    digest key when the map has one (``digest``, or a sibling like ``imageDigest``) and
    else into ``tag`` as ``tag@digest``. ``global_registry`` is ``global.imageRegistry``,
    which Bitnami's helper prefers to the map's own ``registry``. A null or absent key
    reads as ``""`` in ``value``; its ``raw`` keeps what the file says.
    """

    registry: Scalar | None
    global_registry: Scalar | None
    repository: Scalar
    tag: Scalar | None
    digest: Scalar | None
    digest_key: str | None  #: ``digest``, or the sibling key holding the digest

    @property
    def name(self) -> str:
        """``registry/repository`` as the chart renders it (the global registry first)."""
        registry = self.global_registry.value if self.global_registry is not None else ""
        if not registry and self.registry is not None:
            registry = self.registry.value
        return f"{registry}/{self.repository.value}" if registry else self.repository.value

    @property
    def reference(self) -> str | None:
        """What the chart renders: ``name@digest``, else ``name:tag``; None with neither."""
        if self.digest is not None and self.digest.value:
            return f"{self.name}@{self.digest.value}"
        if self.tag is not None and self.tag.value:
            return f"{self.name}:{self.tag.value}"
        return None


@dataclass(frozen=True, slots=True)
class DockerfileImage:
    """Where in a Dockerfile an image was named."""

    instruction: str  #: FROM, COPY (``--from``) or RUN (``--mount=...,from=``)
    platform: str | None  #: the ``--platform=`` value of a FROM, as written
    stage: str | None  #: the ``AS`` name a FROM gives its stage
    stage_index: int  #: 0-based index of the stage the instruction belongs to


@dataclass(frozen=True, slots=True)
class ImageSite:
    """One image reference found in a file."""

    file: str  #: the file as the user named it (``-`` for stdin)
    line: int  #: 1-based line of the value's first character
    column: int  #: 1-based column (in characters) of the value's first character
    start: int  #: character offset of the value in ``FileScan.text`` (quotes excluded)
    end: int  #: character offset just past the value
    image: str  #: the value as Kubernetes reads it (for non-strings: as Rego prints it)
    raw: str  #: ``text[start:end]``
    quoting: Quoting
    source: Source
    role: Role
    name: str | None = None  #: container, volume, service, stage or job name
    kind: str | None = None  #: the Kubernetes object's kind
    object_name: str | None = None  #: ``metadata.name``
    namespace: str | None = None  #: ``metadata.namespace``
    document: int = 0  #: 0-based index of the YAML document in the file
    list_item: int | None = None  #: index in ``items`` of a ``kind: List``
    path: FieldPath = ()  #: field path inside the object (or file, for other sources)
    in_pod_spec: bool = False  #: directly in a Pod's ``spec``
    alias: bool = False  #: the value is an anchor used elsewhere too (editing it edits all)
    value_type: str = "str"  #: str, int, float, bool, null, seq or map
    value: Any = None  #: the typed value when ``value_type`` is not ``str``
    detail: KustomizeImage | DockerfileImage | HelmImage | None = None

    @property
    def exact(self) -> bool:
        """``text[start:end]`` is the image itself: a span edit is safe."""
        return self.raw == self.image and self.value_type == "str"

    @property
    def field_path(self) -> str:
        return field_path(self.path)

    @property
    def json_pointer(self) -> str:
        return json_pointer(self.path)

    @property
    def location(self) -> str:
        """``Deployment/web/spec.template.spec.containers[0].image`` (List items prefixed)."""
        where = self.field_path
        if self.kind is not None:
            where = f"{self.kind}/{self.object_name}/{where}"
        if self.list_item is not None:
            where = f"List/items[{self.list_item}]/{where}"
        return where


@dataclass(frozen=True, slots=True)
class Note:
    """Something the finder left alone on purpose, and why."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.line}: {self.message}"
            if self.line
            else f"{self.file}: {self.message}"
        )


class DocumentSyntaxError(DocumentError):
    """A file (or one document of it) could not be parsed; names file and line."""

    def __init__(
        self, file: str, line: int | None, problem: str, column: int | None = None
    ) -> None:
        where = f"{file}:{line}" if line is not None else file
        if line is not None and column is not None:
            where += f":{column}"
        super().__init__(f"{where}: {problem}", file=file, line=line, reason=problem)
        self.column = column
        self.problem = problem


@dataclass(slots=True)
class FileScan:
    """Everything the finder learned about one file."""

    file: str  #: as the user named it
    path: Path | None  #: None for stdin
    source: str | None = None  #: which reader handled it; None when skipped
    text: str | None = None  #: the decoded text the offsets index (None when unreadable)
    sites: list[ImageSite] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    errors: list[DocumentError] = field(default_factory=list)
    documents: int = 0  #: YAML documents seen (empty ones included)
    #: the codec the file was read with (``utf-16-le``...); a write-back uses it, so the
    #: byte-order mark (kept as ``U+FEFF`` at the start of ``text``) comes back too
    encoding: str = "utf-8"

    @property
    def ok(self) -> bool:
        return not self.errors
