"""``pin --chart``'s plan: trace, answer the targets, prove, and what the plan reports.

A chart that offers a digest key but does not render it gets the pin in that entry's tag
instead, and is proven again; the loop ends when the proof holds or no entry is left to move.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgdigest.documents import FileScan
from imgdigest.errors import ImgdigestError
from imgdigest.pin.chart.proof import check_proof, prove
from imgdigest.pin.chart.run import Run, prepare
from imgdigest.pin.chart.targets import Edits, targets_for
from imgdigest.pin.chart.trace import Rendered, trace
from imgdigest.pin.chart.values import image_entries, merge_values, set_leaves
from imgdigest.pin.digests import DigestSource
from imgdigest.pin.plan import DEFAULT_PIN, Change, Failure, FilePlan, PinOptions, PinPlan

if TYPE_CHECKING:
    from imgdigest.resolver import AsyncResolver, ResolveOptions


@dataclass(frozen=True)
class RenderedImage:
    """One image of the rendered chart, and where it comes from."""

    template: str  #: the template file that rendered it, as ``helm template`` names it
    location: str  #: ``Deployment/r-web/spec.template.spec.containers[0].image``
    image: str  #: as first rendered
    digest: str | None = None  #: the digest this run pinned it to (None: not pinned by it)
    values: tuple[str, ...] = ()  #: ``file:line`` of each values key that feeds it
    literal: str | None = None  #: ``template:line`` when a template literal names it

    def to_json(self) -> dict[str, Any]:
        return {
            "template": self.template,
            "location": self.location,
            "image": self.image,
            "digest": self.digest,
            "values": list(self.values),
            "literal": self.literal,
        }


@dataclass
class ChartPlan:
    """``pin --chart``'s plan: the values edits (a ``PinPlan``) and every rendered image."""

    chart: str
    plan: PinPlan
    images: list[RenderedImage]

    @property
    def exit_code(self) -> int:
        return self.plan.exit_code

    @property
    def failures(self) -> list[Failure]:
        return self.plan.failures

    @property
    def changes(self) -> list[Change]:
        return self.plan.changes

    def write(self, partial: bool = False) -> list[str]:
        return self.plan.write(partial)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.plan.to_json(),
            "chart": self.chart,
            "images": [i.to_json() for i in self.images],
        }


def pin_chart(
    chart: str | Path,
    values: Sequence[str | Path] = (),
    set_values: Sequence[str] = (),
    options: PinOptions = DEFAULT_PIN,
    resolve_options: ResolveOptions | None = None,
    *,
    release: str = "release",
    helm: str | None = None,
) -> ChartPlan:
    """Render ``chart``, pin the values entries its images come from, and prove it by rendering.

    ``values`` are the ``-f`` files and ``set_values`` the ``--set`` items, as ``helm
    template`` takes them. Nothing is written: ``ChartPlan.write()`` does that.
    """
    run, output = prepare(chart, values, set_values, release, helm)
    if options.offline:
        import asyncio  # offline pin of plain files never loads it: 20 ms of start-up

        return asyncio.run(_plan_chart(run, output, options, None))
    from imgdigest.resolver import run_with_resolver

    return run_with_resolver(resolve_options, lambda r: _plan_chart(run, output, options, r))


async def plan_chart(
    chart: str | Path,
    values: Sequence[str | Path] = (),
    set_values: Sequence[str] = (),
    options: PinOptions = DEFAULT_PIN,
    resolver: AsyncResolver | None = None,
    *,
    release: str = "release",
    helm: str | None = None,
) -> ChartPlan:
    """``pin_chart`` through a resolver the caller owns (None: the lock only)."""
    import asyncio

    run, output = await asyncio.to_thread(prepare, chart, values, set_values, release, helm)
    return await _plan_chart(run, output, options, None if options.offline else resolver)


async def _plan_chart(
    run: Run,
    output: str,
    options: PinOptions,
    resolver: AsyncResolver | None,
) -> ChartPlan:
    merged = merge_values(run.sources, set_leaves(run.set_values))
    first, rendered = trace(run.chart, output, image_entries(run.sources, merged))
    source = DigestSource(options, resolver, None)
    into_tag: set[int] = set()  # ids of entries whose chart ignores their digest key
    while True:
        targets, failures = targets_for(run, rendered, into_tag, options)
        answers = await source.answer([t for _, t in targets])
        made = Edits()
        for index, target in targets:
            answer = answers[target.key]
            if isinstance(answer, ImgdigestError):
                reason, code = str(answer), answer.exit_code
                failures.append(
                    Failure(target.site.file, target.line, str(target.tagged), reason, code)
                )
            else:
                made.add(index, target, answer, options.keep_tag)
        texts = made.texts(run)
        problem: str | None = None
        if texts:
            import asyncio

            second = await asyncio.to_thread(prove, run, texts)
            problem, missing = check_proof(first, second, made.traced)
            if problem is None and missing:
                at = {item.index: item for item in rendered}
                retry = {
                    id(e)
                    for i in missing
                    for e in at[i].entries
                    if "digest" in e.keys and id(e) not in into_tag
                }
                if retry:  # the chart ignores these digest keys: pin their tags instead
                    into_tag |= retry
                    continue
                names = ", ".join(first.sites[i].image for i in missing)
                problem = f"the chart still renders these without their digest: {names}"
        break
    plans = {s.file: FilePlan(s.scan) for s in run.sources}
    if problem is None:
        for file, plan in plans.items():
            plan.changes = sorted(made.changes.get(file, []), key=lambda c: c.start)
            plan.edits = list(made.edits.get(file, {}).values())
    else:
        failures.append(Failure(str(run.chart), None, "-", f"{problem}; nothing pinned"))
    for failure in failures:
        if failure.file not in plans:
            plans[failure.file] = FilePlan(FileScan(file=failure.file, path=None))
        plans[failure.file].failures.append(failure)
    images = [_image(item, made.traced, problem is None) for item in rendered]
    pin_plan = PinPlan(
        files=list(plans.values()), resolved=len(answers), from_lock=source.from_lock
    )
    return ChartPlan(str(run.chart), pin_plan, images)


def _image(item: Rendered, traced: dict[int, str], ok: bool) -> RenderedImage:
    pinned = None
    if ok and item.index in traced:
        pinned = traced[item.index]
    values = tuple(
        f"{leaf.source.file}:{leaf.scalar.line}"
        for entry in item.entries
        if (leaf := entry.feeds) is not None and leaf.source is not None
    )
    literal = f"{item.literal[0]}:{item.literal[1]}" if item.literal else None
    return RenderedImage(
        item.template, item.site.location, item.site.image, pinned, values, literal
    )
