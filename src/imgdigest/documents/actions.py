"""Images in GitHub Actions workflows and Docker actions.

Workflows name images in three places: a job's ``container`` (a string, or a mapping
with ``image``), a job's ``services.<name>`` (the same two forms), and a step's
``uses: docker://IMAGE`` - whose site spans only the part after ``docker://``. A Docker
action's ``action.yml`` may run ``runs.image: docker://IMAGE``. Expressions
(``${{ matrix.image }}``) are left alone with a note.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from yaml.nodes import MappingNode

from imgdigest.documents.model import ImageSite, Note
from imgdigest.documents.yamlsite import string_site
from imgdigest.documents.yamltext import NODES, Document, get
from imgdigest.kubernetes import Path

DOCKER_SCHEME = "docker://"


def _docker_uses(site: ImageSite) -> ImageSite | None:
    """Narrow a ``docker://IMAGE`` site to the image part."""
    if not site.image.startswith(DOCKER_SCHEME):
        return None
    cut = len(DOCKER_SCHEME)
    exact = site.raw == site.image
    return dataclasses.replace(
        site,
        image=site.image[cut:],
        start=site.start + cut if exact else site.start,
        column=site.column + cut if exact else site.column,
        raw=site.raw[cut:] if exact else site.raw,
    )


def _uses(found: ImageSite | Note | None) -> ImageSite | Note | None:
    if isinstance(found, ImageSite):
        return _docker_uses(found)
    if isinstance(found, Note) and DOCKER_SCHEME in found.message:
        return found
    return None


def actions_sites(doc: Document, full: str, file: str) -> Iterator[ImageSite | Note]:
    root = doc.node
    jobs = get(root, "jobs")
    for job_name, job in NODES.entries(jobs) if isinstance(jobs, MappingNode) else ():
        job_id = str(job_name)
        container = get(job, "container")
        found: ImageSite | Note | None = None
        if isinstance(container, MappingNode):
            image = get(container, "image")
            if image is not None:
                path: Path = ("jobs", job_id, "container", "image")
                found = string_site(image, doc, full, file, "actions", "actions", path, job_id)
        elif container is not None:
            path = ("jobs", job_id, "container")
            found = string_site(container, doc, full, file, "actions", "actions", path, job_id)
        if found is not None:
            yield found
        services = get(job, "services")
        for svc_name, service in (
            NODES.entries(services) if isinstance(services, MappingNode) else ()
        ):
            # a service, like a container, may be just its image: ``postgres: postgres:10``
            image = get(service, "image") if isinstance(service, MappingNode) else service
            if image is not None:
                path = ("jobs", job_id, "services", svc_name)
                if isinstance(service, MappingNode):
                    path = (*path, "image")
                found = string_site(
                    image, doc, full, file, "actions", "actions", path, str(svc_name)
                )
                if found is not None:
                    yield found
        steps = get(job, "steps")
        for index, step in NODES.items(steps) if steps is not None else ():
            uses = get(step, "uses")
            if uses is not None:
                path = ("jobs", job_id, "steps", index, "uses")
                found = _uses(
                    string_site(uses, doc, full, file, "actions", "actions", path, job_id)
                )
                if found is not None:
                    yield found
    image = get(get(root, "runs"), "image")
    if image is not None:
        found = _uses(
            string_site(image, doc, full, file, "actions", "actions", ("runs", "image"), "runs")
        )
        if found is not None:
            yield found
