"""Tag listing: ``GET /v2/NAME/tags/list``, page by page along ``Link`` headers.

Registries cap a page (``n``) and point at the next one with
``Link: </v2/NAME/tags/list?n=...&last=...>; rel="next"``. Pages are yielded as they
arrive, so a repository with tens of thousands of tags is printed while it is still
being listed and never held whole.

Google's registries (GCR, Artifact Registry) add a ``manifest`` map from each digest
to its tags, media type and timestamps; it is passed on as it is, because it answers
"which tags name this digest" without one request per tag.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from imgdigest.errors import UnsupportedError
from imgdigest.media import content_object
from imgdigest.registry.http import Response
from imgdigest.registry.mirrors import Endpoint
from imgdigest.registry.transport import Transport, _TooLarge, registry_message, status_error

PAGE_SIZE = 1000
# One page of tags; 10,000 tags of 128 characters fit with room to spare.
MAX_PAGE_BYTES = 16 * 1024 * 1024
MAX_PAGES = 100_000

_LINK = re.compile(r'<([^>]*)>\s*;\s*(?:[^,]*;\s*)*rel="?next"?', re.IGNORECASE)


@dataclass(frozen=True)
class TagPage:
    """One page of a tag list."""

    tags: list[str]
    # digest -> {"tag": [...], "mediaType": ..., ...} where the registry sends it.
    manifests: dict[str, dict[str, Any]] = field(default_factory=dict)


def merge_manifests(into: dict[str, dict[str, Any]], page: TagPage) -> None:
    """Add a page's manifest map to ``into``; a digest's tags may span pages."""
    for digest, info in page.manifests.items():
        have = into.get(digest)
        if have is None:
            into[digest] = {**info, "tag": list(info.get("tag") or [])}
        else:
            have["tag"] = [*have.get("tag", []), *(info.get("tag") or [])]


def next_link(header: str | None) -> str | None:
    """The ``rel="next"`` target of a ``Link`` header, if any."""
    if not header:
        return None
    m = _LINK.search(header)
    return m.group(1) if m else None


async def follow_pages(
    transport: Transport,
    endpoint: Endpoint,
    path: str,
    *,
    purpose: str,
    where: str,
    max_bytes: int,
    max_pages: int,
) -> AsyncIterator[tuple[Response, bytes]]:
    """Each page's answer and body along ``Link: <...>; rel="next"`` (the caller judges the
    status). A page over ``max_bytes``, a next link to another host or to a page already
    seen, or more than ``max_pages`` pages is an error, never an endless walk."""
    seen = {path}
    for _ in range(max_pages):
        try:
            resp, body = await transport.request(
                "GET",
                endpoint.host,
                path,
                repository=endpoint.repository,
                purpose=purpose,
                max_bytes=max_bytes,
            )
        except _TooLarge:
            raise UnsupportedError(
                f"{where}: a page is larger than {max_bytes >> 20} MiB"
            ) from None
        yield resp, body
        link = next_link(resp.headers.get("link"))
        if not link:
            return
        parts = urlsplit(link)
        if parts.netloc and parts.netloc != endpoint.host:
            raise UnsupportedError(f"{where}: the next-page link leaves the registry ({link})")
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if path in seen:
            raise UnsupportedError(f"{where}: the registry's next-page link loops ({path})")
        seen.add(path)
    raise UnsupportedError(f"{where}: more than {max_pages} pages")


async def list_tags(
    transport: Transport, endpoint: Endpoint, page_size: int | None = PAGE_SIZE
) -> AsyncIterator[TagPage]:
    """Every page of ``endpoint``'s tag list, in the registry's order."""
    path = f"/v2/{endpoint.repository}/tags/list"
    if page_size:
        path += "?" + urlencode({"n": page_size})
    where = f"{endpoint.name} tag list"
    answers = follow_pages(
        transport,
        endpoint,
        path,
        purpose="tags",
        where=where,
        max_bytes=MAX_PAGE_BYTES,
        max_pages=MAX_PAGES,
    )
    async for resp, body in answers:
        if resp.status_code != 200:
            raise status_error(resp.status_code, where, registry_message(body))
        yield _parse_page(body, where)


def _parse_page(body: bytes, where: str) -> TagPage:
    obj = content_object(body, where, "the answer")
    tags = obj.get("tags") or []  # distribution sends null for a repository without tags
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise UnsupportedError(f'{where}: "tags" is not a list of strings')
    manifests = obj.get("manifest")
    if not isinstance(manifests, dict):
        manifests = {}
    return TagPage(tags, {str(k): v for k, v in manifests.items() if isinstance(v, dict)})
