"""Images in Kubernetes documents: the object model of ``imgdigest.kubernetes`` over YAML nodes.

``imgdigest.kubernetes`` knows where images live in any tree; this reader only walks it
over one parsed YAML document and turns each slot into an ``ImageSite`` with its span.
"""

from __future__ import annotations

from collections.abc import Iterator

from imgdigest.documents.model import ImageSite, Note
from imgdigest.documents.yamlsite import node_site, template_note, templated
from imgdigest.documents.yamltext import NODES, Document, display_text, get, scalar_text, text_of
from imgdigest.kubernetes import NO_EXTRA_PATHS, ExtraPaths, Scope, iter_image_slots, iter_objects


def kubernetes_sites(
    doc: Document,
    full: str,
    file: str,
    *,
    scope: Scope = "workloads",
    extra: ExtraPaths = NO_EXTRA_PATHS,
) -> Iterator[ImageSite | Note]:
    """Every image of every object in one document (``kind: List`` items included)."""
    if doc.node is None:
        return
    for list_item, obj in iter_objects(doc.node, NODES):
        kind = text_of(get(obj, "kind"))
        metadata = get(obj, "metadata")
        object_name = scalar_text(get(metadata, "name"))
        namespace = scalar_text(get(metadata, "namespace"))
        for slot in iter_image_slots(obj, NODES, scope=scope, extra=extra):
            if slot.image is None:
                continue
            site = node_site(
                slot.image,
                doc,
                full,
                file,
                source="kubernetes",
                role=slot.role,  # type: ignore[arg-type]
                path=slot.path,
                owner=slot.owner,
                name=display_text(slot.name),
                kind=kind,
                object_name=object_name,
                namespace=namespace,
                list_item=list_item,
                in_pod_spec=slot.in_pod_spec,
            )
            if scope == "workloads" and site.value_type == "str" and templated(site.image):
                yield template_note(site)
                continue
            yield site
