"""Images in Compose files: ``services.<name>.image``.

Compose variables (``${TAG}``) are left alone with a note: the file does not name a
reference until the environment is known.
"""

from __future__ import annotations

from collections.abc import Iterator

from yaml.nodes import MappingNode

from imgdigest.documents.model import ImageSite, Note
from imgdigest.documents.yamlsite import string_site
from imgdigest.documents.yamltext import NODES, Document, get


def compose_sites(doc: Document, full: str, file: str) -> Iterator[ImageSite | Note]:
    services = get(doc.node, "services")
    if not isinstance(services, MappingNode):
        return
    for name, service in NODES.entries(services):
        image = get(service, "image")
        if image is not None:
            path = ("services", name, "image")
            found = string_site(image, doc, full, file, "compose", "compose", path, str(name))
            if found is not None:
                yield found
