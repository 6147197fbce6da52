"""Tracing each rendered image back to the values entries that produce it.

An entry whose merged reference is the rendered image (both normalized) feeds it; an image
no entry produces is looked for as a literal in the template ``helm template`` names in its
``# Source:`` comment, so it can be reported at that template's line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from imgdigest import reference as references
from imgdigest.documents import FileScan, ImageSite, scan_text
from imgdigest.errors import ChartError, ImgdigestError
from imgdigest.pin.chart.values import Entry

_SOURCE = re.compile(r"^# Source: (\S+)", re.M)


@dataclass
class Rendered:
    """One image of the render, with the entries that feed it (none: a literal, or logic)."""

    index: int  #: of the site in the render's scan
    site: ImageSite
    template: str
    entries: list[Entry]
    literal: tuple[str, int] | None = None


def trace(chart: Path, output: str, entries: list[Entry]) -> tuple[FileScan, list[Rendered]]:
    """The render's scan, and each string image in it with what produces it."""
    scan = scan_text(output, "helm template", reader="yaml")
    if scan.errors:
        raise ChartError(f"{chart}: helm template's output does not parse: {scan.errors[0]}")
    by_ref: dict[str, list[Entry]] = {}
    for entry in entries:
        ref = entry.reference
        key = _normal(ref) if ref else None
        if key is not None:
            by_ref.setdefault(key, []).append(entry)
    sources = _split_sources(output)
    rendered: list[Rendered] = []
    for index, site in enumerate(scan.sites):
        if site.value_type != "str":
            continue
        template = _source_at(sources, site.start)
        key = _normal(site.image)
        found = by_ref.get(key, []) if key is not None else []
        item = Rendered(index, site, template, found)
        if not found:
            item.literal = _literal(chart, template, site.image)
        rendered.append(item)
    return scan, rendered


def template_path(chart: Path, source: str) -> Path:
    """``shapes/charts/cache/templates/x.yaml`` in the chart folder."""
    parts = source.split("/")[1:]
    return chart.joinpath(*parts) if parts else chart


def digest_of(image: str) -> str | None:
    """The digest a rendered image carries (None: none, or not a reference)."""
    try:
        return references.normalize(image).digest
    except ImgdigestError:
        return None


def _literal(chart: Path, template: str, image: str) -> tuple[str, int] | None:
    path = template_path(chart, template)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    at = text.find(image)
    if at < 0:
        return None
    return str(path), text.count("\n", 0, at) + 1


def _normal(image: str) -> str | None:
    try:
        return str(references.normalize(image))
    except ImgdigestError:
        return None


def _split_sources(output: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group(1)) for m in _SOURCE.finditer(output)]


def _source_at(sources: list[tuple[int, str]], offset: int) -> str:
    name = ""
    for start, source in sources:
        if start > offset:
            break
        name = source
    return name
