"""Turning a YAML node that holds an image into an ``ImageSite`` (shared by every YAML reader)."""

from __future__ import annotations

from typing import Any

from yaml.nodes import Node, ScalarNode

from imgdigest.documents.model import ImageSite, Note, Role, Source
from imgdigest.documents.yamltext import Document, construct, scalar_span, value_type
from imgdigest.kubernetes import Path
from imgdigest.rego import format_value


def templated(value: str) -> bool:
    """Helm / Go templates, shell, envsubst or compose variables: not a reference yet.

    ``$`` and ``{`` can never appear in a valid reference, so nothing real is lost.
    """
    return "{{" in value or "$" in value


def node_site(
    node: Node,
    doc: Document,
    full: str,
    file: str,
    *,
    source: Source,
    role: Role,
    path: Path,
    owner: Node | None = None,
    **fields: Any,
) -> ImageSite:
    """The site of ``node``; non-strings keep their typed value and Rego's spelling."""
    kind = value_type(node)
    if isinstance(node, ScalarNode):
        span = scalar_span(node, doc, full)
        start, end, line, column, quoting, raw = (
            span.start,
            span.end,
            span.line,
            span.column,
            span.quoting,
            span.raw,
        )
        value: Any = None if kind == "str" else construct(node)
        image = node.value if kind == "str" else format_value(value)
    else:
        start = node.start_mark.index + doc.offset
        end = node.end_mark.index + doc.offset
        line = node.start_mark.line + doc.line + 1
        column = node.start_mark.column + 1
        quoting = "plain"
        raw = full[start:end]
        value = construct(node)
        image = format_value(value)
    alias = False
    if owner is not None:
        alias = not owner.start_mark.index <= node.start_mark.index < owner.end_mark.index
    return ImageSite(
        file=file,
        line=line,
        column=column,
        start=start,
        end=end,
        image=image,
        raw=raw,
        quoting=quoting,
        source=source,
        role=role,
        path=path,
        alias=alias,
        value_type=kind,
        value=value,
        document=doc.index,
        **fields,
    )


def string_site(
    node: Node,
    doc: Document,
    full: str,
    file: str,
    source: Source,
    role: Role,
    path: Path,
    name: str,
) -> ImageSite | Note | None:
    """A site for a string scalar; a note for a templated one; None for anything else."""
    if not isinstance(node, ScalarNode):
        return None
    site = node_site(node, doc, full, file, source=source, role=role, path=path, name=name)
    if site.value_type != "str":
        return None
    if templated(site.image):
        return template_note(site)
    return site


def template_note(site: ImageSite) -> Note:
    return Note(site.file, site.line, f"templated image left alone: {site.image}")
