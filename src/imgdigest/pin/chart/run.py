"""One chart run: what ``helm template`` was given, its first render, and the values in play.

Proving a pin renders the chart again with exactly these inputs, so they are kept together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from imgdigest.errors import ChartError
from imgdigest.pin.chart.helm import render
from imgdigest.pin.chart.values import ValuesSource, values_sources


@dataclass
class Run:
    chart: Path
    values: list[str]
    set_values: list[str]
    release: str
    helm: str | None
    sources: list[ValuesSource]
    by_file: dict[str, ValuesSource]


def prepare(
    chart: str | Path,
    values: Sequence[str | Path],
    set_values: Sequence[str],
    release: str,
    helm: str | None,
) -> tuple[Run, str]:
    """The run, and ``helm template``'s output for it."""
    root = Path(chart)
    if not (root / "Chart.yaml").is_file():
        raise ChartError(f"{chart}: not a chart (no Chart.yaml)", file=str(chart))
    given = [str(v) for v in values]
    output = render(str(root), given, set_values, release=release, helm=helm)
    sources = values_sources(root, given)
    run = Run(root, given, list(set_values), release, helm, sources, {s.file: s for s in sources})
    return run, output
