"""The OCI 1.1 referrers API: ``GET /v2/NAME/referrers/DIGEST``, page by page.

A registry that implements it answers with an image index whose ``manifests`` are the
descriptors of every manifest whose ``subject`` is the digest; one that does not answers
404, and the caller falls back to the referrers tag schema. ``artifactType=T`` asks the
registry to filter; it says it did with ``OCI-Filters-Applied: artifactType``, and when it
does not, the caller filters itself. Pages follow ``Link: <...>; rel="next"`` like tag
lists; a next link seen before is a loop and an error, never an endless walk.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from imgdigest.errors import UnsupportedError
from imgdigest.media import Descriptor, content_object
from imgdigest.registry.mirrors import Endpoint
from imgdigest.registry.tags import follow_pages
from imgdigest.registry.transport import Transport, registry_message, status_error

#: One page of referrers; 4 MiB, the manifest limit, since a page is an image index.
MAX_PAGE_BYTES = 4 * 1024 * 1024
MAX_PAGES = 1000


@dataclass(frozen=True)
class ApiReferrers:
    """What the referrers API answered: descriptors in the registry's order."""

    descriptors: tuple[Descriptor, ...]
    #: the registry applied the ``artifactType`` filter itself
    filtered: bool
    pages: int


async def fetch_referrers(
    transport: Transport, endpoint: Endpoint, digest: str, artifact_type: str | None = None
) -> ApiReferrers | None:
    """Every referrer the API lists for ``digest``, or None when the registry has no API."""
    path = f"/v2/{endpoint.repository}/referrers/{digest}"
    if artifact_type:
        path += "?" + urlencode({"artifactType": artifact_type})
    where = f"{endpoint.name}@{digest} referrers"
    found: list[Descriptor] = []
    filtered = True
    pages = 0
    answers = follow_pages(
        transport,
        endpoint,
        path,
        purpose="referrers",
        where=where,
        max_bytes=MAX_PAGE_BYTES,
        max_pages=MAX_PAGES,
    )
    async for resp, body in answers:
        pages += 1
        if resp.status_code == 404 and pages == 1:
            return None
        if resp.status_code != 200:
            raise status_error(resp.status_code, where, registry_message(body))
        found.extend(_parse_page(body, f"{where} page {pages}"))
        applied = resp.headers.get("oci-filters-applied", "")
        filtered = filtered and "artifacttype" in applied.lower().replace(" ", "").split(",")
    return ApiReferrers(tuple(found), bool(artifact_type) and filtered, pages)


def _parse_page(body: bytes, where: str) -> list[Descriptor]:
    obj = content_object(body, where, "the answer")
    manifests = obj.get("manifests")
    if manifests is None:
        return []
    if not isinstance(manifests, list):
        raise UnsupportedError(f'{where}: "manifests" is not a list')
    return [Descriptor.from_json(d, f"{where}: manifests[{i}]") for i, d in enumerate(manifests)]


__all__ = ["ApiReferrers", "fetch_referrers"]
