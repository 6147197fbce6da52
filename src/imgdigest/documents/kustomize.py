"""Images in a kustomization's ``images:`` list.

An entry says: replace image ``name`` by ``newName``, with tag ``newTag`` and/or
``digest``. What kustomize produces is the site's ``image``: ``newName`` (or ``name``),
``:newTag`` unless a ``digest`` is set (kustomize then ignores ``newTag``), and
``@digest``. An entry with neither a tag nor a digest keeps whatever the resources
say, so it names no reference of its own and is reported with a note instead.

The site's span is the key an editor is most likely to rewrite (``newTag``, else
``digest``, else ``newName``, else ``name``); ``detail`` holds every key's span.
"""

from __future__ import annotations

from collections.abc import Iterator

from yaml.nodes import MappingNode, ScalarNode

from imgdigest.documents.model import ImageSite, KustomizeImage, Note, Scalar
from imgdigest.documents.yamltext import Document, get, scalar_span
from imgdigest.kubernetes import PathSegment


def _scalar(node: object, doc: Document, full: str) -> Scalar | None:
    return scalar_span(node, doc, full) if isinstance(node, ScalarNode) else None


def effective_reference(entry: KustomizeImage) -> str | None:
    """The reference kustomize writes for this entry, or None if it sets no tag/digest."""
    name = entry.new_name or entry.name
    if name is None or (entry.new_tag is None and entry.digest is None):
        return None
    ref = name.value
    if entry.digest is not None:
        return f"{ref}@{entry.digest.value}"
    assert entry.new_tag is not None
    return f"{ref}:{entry.new_tag.value}"


def _names_a_version(name: str) -> bool:
    """``nginx:1.25`` or ``nginx@sha256:...``: a tag or digest after the last ``/``."""
    last = name.rsplit("/", 1)[-1]
    return ":" in last or "@" in last


def kustomize_sites(doc: Document, full: str, file: str) -> Iterator[ImageSite | Note]:
    images = get(doc.node, "images")
    if images is None or not hasattr(images, "value") or not isinstance(images.value, list):
        return
    for index, entry in enumerate(images.value):
        if not isinstance(entry, MappingNode):
            continue
        detail = KustomizeImage(
            name=_scalar(get(entry, "name"), doc, full),
            new_name=_scalar(get(entry, "newName"), doc, full),
            new_tag=_scalar(get(entry, "newTag"), doc, full),
            digest=_scalar(get(entry, "digest"), doc, full),
            entry_start=entry.start_mark.index + doc.offset,
            entry_end=entry.end_mark.index + doc.offset,
            key_column=-1 if entry.flow_style else entry.start_mark.column,
            flow=bool(entry.flow_style),
        )
        anchor = detail.new_tag or detail.digest or detail.new_name or detail.name
        if anchor is None:
            continue
        reference = effective_reference(detail)
        path: tuple[PathSegment, ...] = ("images", index)
        new_name = detail.new_name
        if reference is None and new_name is not None and _names_a_version(new_name.value):
            # ``newName: nginx:1.25`` without ``newTag``: kustomize writes the name as
            # given, tag and all, so the value itself is the reference (and is what a
            # pin edits: ``detail`` stays empty, as for any plain scalar).
            yield ImageSite(
                file=file,
                line=new_name.line,
                column=new_name.column,
                start=new_name.start,
                end=new_name.end,
                image=new_name.value,
                raw=new_name.raw,
                quoting=new_name.quoting,
                source="kustomize",
                role="kustomize",
                name=detail.name.value if detail.name else None,
                document=doc.index,
                path=(*path, "newName"),
            )
            continue
        if reference is None:
            yield Note(file, anchor.line, f"kustomize image {anchor.value} sets no tag or digest")
            continue
        yield ImageSite(
            file=file,
            line=anchor.line,
            column=anchor.column,
            start=anchor.start,
            end=anchor.end,
            image=reference,
            raw=anchor.raw,
            quoting=anchor.quoting,
            source="kustomize",
            role="kustomize",
            name=detail.name.value if detail.name else None,
            document=doc.index,
            path=path,
            detail=detail,
        )
