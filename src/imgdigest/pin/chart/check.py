"""``check --chart``: what a chart renders, each finding at the values line that feeds it.

The verdict is ``check``'s own (``site_violation``), so a chart is judged as its rendered
manifests would be; only where a finding is reported changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from imgdigest.documents import ImageSite, Note
from imgdigest.pin.chart.helm import SET
from imgdigest.pin.chart.run import prepare
from imgdigest.pin.chart.trace import template_path, trace
from imgdigest.pin.chart.values import image_entries, merge_values, set_leaves, site_for

if TYPE_CHECKING:
    from imgdigest.check import CheckOptions, CheckReport, Verifier


def chart_sites(
    chart: str | Path,
    values: Sequence[str | Path] = (),
    set_values: Sequence[str] = (),
    *,
    release: str = "release",
    helm: str | None = None,
) -> tuple[list[tuple[ImageSite, ImageSite | None]], list[Note]]:
    """Each rendered image's site, with the values site that feeds it (None: a literal).

    A literal's site is moved to its template file and line when the template names it.
    """
    run, output = prepare(chart, values, set_values, release, helm)
    merged = merge_values(run.sources, set_leaves(run.set_values))
    _, rendered = trace(run.chart, output, image_entries(run.sources, merged))
    out: list[tuple[ImageSite, ImageSite | None]] = []
    notes: list[Note] = []  # the render answers what the values files alone left open
    for item in rendered:
        site = replace(item.site, file=str(template_path(run.chart, item.template)))
        feeding: ImageSite | None = None
        for entry in item.entries:
            leaf = entry.feeds
            if leaf is not None and leaf.source is not None:
                feeding = replace(
                    site_for(entry, leaf, False), image=item.site.image, value_type="str"
                )
                break
            if leaf is not None:
                notes.append(Note(SET, None, f"{item.site.image}: set with --set"))
        if feeding is None and item.literal is not None:
            site = replace(site, file=item.literal[0], line=item.literal[1], column=1)
        elif feeding is None:  # named by a template's own logic: where it renders
            site = replace(site, file=f"{site.file} (rendered)")
        out.append((site, feeding))
    return out, notes


def check_chart(
    chart: str | Path,
    values: Sequence[str | Path] = (),
    set_values: Sequence[str] = (),
    options: CheckOptions | None = None,
    *,
    release: str = "release",
    helm: str | None = None,
    verifier: Verifier | None = None,
) -> CheckReport:
    """``check`` of what ``chart`` renders, each finding at the values line that feeds it.

    An image from a template literal is reported at its template's line; ``detail`` says
    where each image renders. ``verifier`` asks the registry about the pinned images that
    pass (``--verify``, ``--key``), and its findings go to the same lines.
    """
    from imgdigest.check import (
        CheckOptions,
        CheckReport,
        Violation,
        is_exempt,
        label,
        message,
        site_violation,
    )

    options = options or CheckOptions()
    pairs, notes = chart_sites(chart, values, set_values, release=release, helm=helm)
    report = CheckReport(notes=notes)
    files: list[str] = []
    feeds: dict[int, ImageSite | None] = {}
    passed: list[ImageSite] = []

    def place(violation: Violation, feeding: ImageSite | None, asked: bool = False) -> None:
        """At the values entry feeding the image; a registry's answer keeps its reason."""
        site = violation.site
        where = (
            f"rendered in {site.file} as {label(site)}"
            if feeding is not None
            else "a template literal, not a values entry"
        )
        why = f"{violation.detail}; {where}" if asked and violation.detail else where
        if feeding is not None:
            who = f"Helm value <{feeding.field_path}>"
            text = message(who, violation.rule, site.image)
            found = Violation(feeding, violation.rule, text, why)
        else:
            found = replace(violation, detail=why)
        report.violations.append(found)
        files.append(found.file)

    for site, feeding in pairs:
        report.images += 1
        violation = site_violation(site, options)
        if violation is not None:
            place(violation, feeding)
        elif (
            verifier is not None
            and site.value_type == "str"
            and not is_exempt(site.image, options.exempt)
        ):
            feeds[id(site)] = feeding
            passed.append(site)
    if verifier is not None and passed:
        for violation in verifier(passed):
            place(violation, feeds[id(violation.site)], asked=True)
    report.files = list(dict.fromkeys([str(chart), *files]))
    report.violations.sort(key=lambda v: (v.file, v.line, v.column))
    return report
