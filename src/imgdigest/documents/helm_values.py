"""Images in Helm values files: the shapes real charts use, at any depth.

A values file is not a manifest: which keys a chart reads is known only to its
templates. The convention charts follow (and Renovate relies on) is a key ending in
``image`` (``image``, ``initImage``, ``kubectl_image``...) whose value is either

* a string with a tag or digest, ``image: "nginx:1.25"``, rendered whole (one without,
  ``image: nginx``, may get its tag from the chart: left alone, with a note under ``image``;
  ``logoImage: logo.png`` is no image at all);
* a map, ``image: {repository, tag}``, rendered ``repository:tag``; with ``registry``
  too (the Bitnami shape, where ``global.imageRegistry`` wins over the map's own
  ``registry``); ingress-nginx spells ``repository`` as ``image`` beside ``registry``;
* such a map with a digest key of its own (``digest``) or beside it
  (``imageDigest`` for ``image``): the chart renders ``name@digest`` once it is set.

Maps recognised as an image are not searched further; anything else is, through maps
and lists. A string that is not a reference (``image: ""``, ``baseImage: Ubuntu``) is
no image; a templated one (``{{ ... }}``) is left alone with a note, as is a map whose
tag is a YAML number (``tag: 1.10`` is the float ``1.1`` to Helm: quote it) and a map
with no tag (the chart's default applies, often its ``appVersion``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from imgdigest.documents.model import HelmImage, ImageSite, Note, Scalar
from imgdigest.documents.yamlsite import string_site, templated
from imgdigest.documents.yamltext import Document, get, scalar_span, value_type
from imgdigest.errors import ImgdigestError
from imgdigest.kubernetes import Path, field_path
from imgdigest.reference import normalize


def image_key(key: str) -> bool:
    """A key charts use for an image: ``image`` or any name ending in it."""
    return key.lower().endswith("image")


def _key(node: Node) -> str | None:
    return node.value if isinstance(node, ScalarNode) else None


def _span(node: Node | None, doc: Document, full: str) -> Scalar | None:
    """A scalar's span, its value ``""`` when it is null (``digest:``, ``digest: ~``)."""
    if not isinstance(node, ScalarNode):
        return None
    span = scalar_span(node, doc, full)
    return replace(span, value="") if value_type(node) == "null" else span


def _repository_node(node: MappingNode) -> Node | None:
    repository = get(node, "repository")
    if repository is None and (get(node, "registry") is not None or get(node, "tag") is not None):
        repository = get(node, "image")  # ingress-nginx: {registry, image, tag, digest}
    return repository if isinstance(repository, ScalarNode) else None


def _global_registry(doc: Document, full: str) -> Scalar | None:
    registry = _span(get(get(doc.node, "global"), "imageRegistry"), doc, full)
    return registry if registry is not None and registry.value else None


class _Reader:
    def __init__(self, doc: Document, full: str, file: str) -> None:
        self.doc = doc
        self.full = full
        self.file = file
        self.global_registry = _global_registry(doc, full)

    def walk(self, node: Node, path: Path) -> Iterator[ImageSite | Note]:
        if isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                yield from self.walk(item, (*path, index))
            return
        if not isinstance(node, MappingNode):
            return
        for key_node, value in node.value:
            key = _key(key_node)
            if key is None or key == "<<":
                continue
            here: Path = (*path, key)
            if image_key(key):
                found = self.image(node, key, value, here)
                if found is not None:
                    yield from found
                    continue
            yield from self.walk(value, here)

    def image(
        self, parent: MappingNode, key: str, node: Node, path: Path
    ) -> list[ImageSite | Note] | None:
        """The site (or note) of one image value; None when it holds no image."""
        if isinstance(node, ScalarNode):
            return self.string(node, path)
        if isinstance(node, MappingNode):
            repository = _repository_node(node)
            if repository is not None:
                return self.mapping(parent, key, node, repository, path)
            tag = _span(get(node, "tag"), self.doc, self.full)
            if tag is not None:  # an overlay's tag alone: the chart knows which image
                why = "sets a tag but no repository; pin --chart renders the chart to find it"
                return [Note(self.file, tag.line, f"{field_path(path)}: {why}")]
        return None

    def string(self, node: ScalarNode, path: Path) -> list[ImageSite | Note] | None:
        name = field_path(path)
        found = string_site(node, self.doc, self.full, self.file, "helm", "helm", path, name)
        if found is None or isinstance(found, Note):
            return None if found is None else [found]
        if not _is_reference(found.image):
            return None
        if not _names_a_version(found.image):  # a repository the chart adds a tag to, or a file
            if path[-1] != "image":
                return None
            why = "names no tag or digest (the chart may add one); left alone"
            return [Note(self.file, found.line, f"{name}: {found.image} {why}")]
        return [found]

    def mapping(
        self, parent: MappingNode, key: str, node: MappingNode, repo: ScalarNode, path: Path
    ) -> list[ImageSite | Note] | None:
        doc, full, file = self.doc, self.full, self.file
        repository = _span(repo, doc, full)
        assert repository is not None
        if value_type(repo) != "str" or not repository.value:
            return None
        digest_key: str | None = "digest"
        digest_node = get(node, "digest")
        if digest_node is None:
            digest_key = _sibling(parent, f"{key}digest")
            digest_node = get(parent, digest_key) if digest_key is not None else None
        tag_node = get(node, "tag")
        detail = HelmImage(
            registry=_span(get(node, "registry"), doc, full),
            global_registry=self.global_registry if get(node, "registry") is not None else None,
            repository=repository,
            tag=_span(tag_node, doc, full),
            digest=_span(digest_node, doc, full),
            digest_key=digest_key if digest_node is not None else None,
        )
        name = field_path(path)
        parts = (detail.name, *(s.value for s in (detail.tag, detail.digest) if s is not None))
        if any(templated(part) for part in parts):
            return [Note(file, repository.line, f"templated image left alone: {name}")]
        if tag_node is not None and value_type(tag_node) not in ("str", "null"):
            message = f"{name}: tag {tag_node.value} is a YAML {value_type(tag_node)}, not a string"
            return [Note(file, repository.line, f"{message}; quote it to pin it")]
        reference = detail.reference
        if reference is None:
            why = "sets no tag (the chart's default, often its appVersion, applies)"
            return [Note(file, repository.line, f"{name}: {detail.name} {why}")]
        anchor = detail.digest if detail.digest is not None else detail.tag
        assert anchor is not None
        site = ImageSite(
            file=file,
            line=anchor.line,
            column=anchor.column,
            start=anchor.start,
            end=anchor.end,
            image=reference,
            raw=anchor.raw,
            quoting=anchor.quoting,
            source="helm",
            role="helm",
            name=name,
            document=doc.index,
            path=path,
            detail=detail,
        )
        return [site]


def _sibling(parent: MappingNode, wanted: str) -> str | None:
    """The key of ``parent`` spelled ``wanted`` in any case (``imageDigest``, ``imagedigest``)."""
    for key_node, _ in parent.value:
        key = _key(key_node)
        if key is not None and key.lower() == wanted.lower():
            return key
    return None


def _names_a_version(image: str) -> bool:
    """``nginx:1.25`` or ``nginx@sha256:…``: a tag or digest after the last ``/``."""
    last = image.rsplit("/", 1)[-1]
    return ":" in last or "@" in last


def _is_reference(image: str) -> bool:
    try:
        normalize(image)
    except ImgdigestError:
        return False
    return True


def helm_values_sites(doc: Document, full: str, file: str) -> Iterator[ImageSite | Note]:
    """Every image of one values document, in file order."""
    if doc.node is None:
        return
    yield from _Reader(doc, full, file).walk(doc.node, ())


def values_leaves(doc: Document, full: str) -> tuple[dict[Path, Scalar], list[Path]]:
    """Every scalar of a values document by its path, and the paths that hold lists.

    Helm merges values files key by key but replaces a list whole, so a caller merging
    several files needs both. A null value reads as ``""`` (its ``raw`` is as written).
    """
    leaves: dict[Path, Scalar] = {}
    lists: list[Path] = []

    def walk(node: Node, path: Path) -> None:
        if isinstance(node, ScalarNode):
            span = _span(node, doc, full)
            if span is not None and path:
                leaves[path] = span
        elif isinstance(node, SequenceNode):
            lists.append(path)
            for index, item in enumerate(node.value):
                walk(item, (*path, index))
        elif isinstance(node, MappingNode):
            for key_node, value in node.value:
                key = _key(key_node)
                if key is not None and key != "<<":
                    walk(value, (*path, key))

    if doc.node is not None:
        walk(doc.node, ())
    return leaves, lists
