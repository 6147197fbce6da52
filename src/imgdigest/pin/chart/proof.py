"""The proof: render the edited values again and compare with the first render.

The second render must be the first with each traced image replaced by a pinned one and
not one other character changed; anything else (an image moved, renamed, added or dropped,
an untraced image or any other text changed) refuses the whole plan. The render happens in
a scratch copy, so the user's chart and values are untouched until the plan is written.
"""

from __future__ import annotations

from pathlib import Path

from imgdigest import reference as references
from imgdigest.documents import FileScan, scan_text
from imgdigest.edits import Edit, apply_edits
from imgdigest.pin.chart.helm import render
from imgdigest.pin.chart.run import Run
from imgdigest.pin.chart.trace import digest_of


def prove(
    run: Run,
    texts: dict[str, str],
) -> str:
    """Render the chart again with the edited values, in a scratch copy."""
    import shutil  # loaded when a chart is rendered, not by every pin
    import tempfile

    with tempfile.TemporaryDirectory(prefix="imgdigest-chart-") as tmp:
        copy = Path(tmp) / run.chart.name
        shutil.copytree(run.chart, copy, symlinks=True)
        mapped: list[str] = []
        for index, given in enumerate(run.values):
            dest = Path(tmp) / f"values-{index}{Path(given).suffix}"
            shutil.copyfile(given, dest)
            mapped.append(str(dest))
        for file, text in texts.items():
            data = text.encode(run.by_file[file].scan.encoding)
            for index, given in enumerate(run.values):  # an overlay, wherever it lies
                if given == file:
                    Path(mapped[index]).write_bytes(data)
            where = Path(file).resolve()
            if where.is_relative_to(run.chart.resolve()):
                (copy / where.relative_to(run.chart.resolve())).write_bytes(data)
        return render(str(copy), mapped, run.set_values, release=run.release, helm=run.helm)


def check_proof(
    first: FileScan, second_text: str, traced: dict[int, str]
) -> tuple[str | None, list[int]]:
    """Why the second render is not the first with the traced images pinned, if it is not.

    Also returns the indexes of traced sites whose image has no digest yet.
    """
    second = scan_text(second_text, "helm template", reader="yaml")
    if len(second.sites) != len(first.sites):
        return "pinning changed which images the chart renders", []
    assert first.text is not None
    edits: list[Edit] = []
    missing: list[int] = []
    for index, (a, b) in enumerate(zip(first.sites, second.sites, strict=True)):
        if a.path != b.path or a.document != b.document:
            return f"pinning moved the image at {a.location}", []
        if a.raw != b.raw:
            edits.append(Edit(a.start, a.end, b.raw))
        if index in traced:
            if digest_of(b.image) != traced[index]:
                missing.append(index)
            elif references.normalize(b.image).name != references.normalize(a.image).name:
                return f"pinning renamed the image at {a.location}: {b.image}", []
        elif a.raw != b.raw:
            return f"pinning changed an image it did not pin, at {a.location}: {b.image}", []
    if apply_edits(first.text, edits) != second_text:
        return "pinning changed the rendered output outside its images", []
    return None, missing
