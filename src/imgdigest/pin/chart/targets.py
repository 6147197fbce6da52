"""What each rendered image asks of the values entries that feed it, and the edits answering it.

A rendered image becomes one ``pin`` target per entry that feeds it, at the key the pin edits
(the string, the digest key, else the tag) in the file that set that key. An image no
values file can answer (a template literal, a template's own logic, a ``--set`` value) is a
failure saying where it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from imgdigest.edits import Edit, apply_edits
from imgdigest.kubernetes import field_path
from imgdigest.pin.chart.helm import SET
from imgdigest.pin.chart.run import Run
from imgdigest.pin.chart.trace import Rendered, digest_of, template_path
from imgdigest.pin.chart.values import site_for
from imgdigest.pin.plan import Change, Failure, Mode, PinOptions, Target
from imgdigest.pin.targets import pinned_state, rewritten


def targets_for(
    run: Run, rendered: list[Rendered], into_tag: set[int], options: PinOptions
) -> tuple[list[tuple[int, Target]], list[Failure]]:
    """What each rendered image asks of its values entries (by the image's index)."""
    targets: list[tuple[int, Target]] = []
    failures: list[Failure] = []
    for item in rendered:
        site = item.site
        if digest_of(site.image) is not None and (not options.update or not item.entries):
            continue
        if not item.entries:
            where, line = item.literal or (str(template_path(run.chart, item.template)), None)
            why = "a template literal, not a values entry: pin it in the template"
            if item.literal is None:
                why = "no values entry renders it (set by a template's own logic)"
            failures.append(Failure(where, line, site.image, why))
            continue
        for entry in item.entries:
            leaf = entry.edited(id(entry) in into_tag)
            if leaf is None:
                continue
            if leaf.source is None:
                why = f"set with --set {field_path(entry.path)}: pin it there"
                failures.append(Failure(SET, None, site.image, why))
                continue
            values_site = site_for(entry, leaf, id(entry) in into_tag)
            tagged, current = pinned_state(values_site)
            if tagged is None or (current is not None and not options.update):
                continue
            s = leaf.scalar
            mode: Mode = "update" if current else "pin"
            target = Target(
                values_site, mode, tagged, current, s.start, s.end, s.raw, s.line, s.column
            )
            targets.append((item.index, target))
    return targets, failures


@dataclass
class Edits:
    """The edits one attempt makes, per values file, and the digest each traced image gets."""

    edits: dict[str, dict[tuple[int, int], Edit]] = field(default_factory=dict)
    changes: dict[str, list[Change]] = field(default_factory=dict)
    traced: dict[int, str] = field(default_factory=dict)  #: rendered index -> digest

    def add(self, index: int, target: Target, digest: str, keep_tag: bool) -> None:
        self.traced[index] = digest
        new = rewritten(target, digest, keep_tag)
        file = target.site.file
        span = (target.start, target.end)
        if new == target.raw or span in self.edits.setdefault(file, {}):
            return
        self.edits[file][span] = Edit(target.start, target.end, new)
        line, column = target.line or target.site.line, target.column or target.site.column
        self.changes.setdefault(file, []).append(
            Change(
                file,
                line,
                column,
                target.raw,
                new,
                str(target.tagged),
                digest,
                target.mode,
                target.start,
                target.end,
            )
        )

    def texts(self, run: Run) -> dict[str, str]:
        return {
            file: apply_edits(run.by_file[file].scan.text or "", list(spans.values()))
            for file, spans in self.edits.items()
            if spans
        }
