"""Pinning a Helm chart where it renders: render, trace, pin the values, render again.

Which values a chart reads is known only to its templates, so ``pin_chart`` asks Helm:

1. **Render** with the real ``helm template`` (with the user's ``-f`` files and ``--set``).
2. **Trace** each rendered image to the values entries that produce it. The values files in
   play (each subchart's ``values.yaml`` under its key, the chart's, the ``-f`` overlays,
   then ``--set``) are merged as Helm merges them: key by key, later sources winning, a
   list replaced whole. An image entry (the shapes of ``documents.helm_values``) whose
   merged reference is the rendered image feeds it, and its edit goes to the file that set
   the key it edits: the digest key when the entry has one, else the tag. An image no
   entry produces is a template literal, reported with its template file and line.
3. **Pin** every traced entry, answered as ``pin`` answers (lock first, then registry).
4. **Prove** it: the edited values are rendered again in a scratch copy of the chart. The
   output must be the first render with each traced image replaced by a pinned one and
   not one other character changed. A chart that ignores the digest key it offers gets
   the pin in its tag instead, and is rendered once more; if the proof still fails,
   nothing is planned.

The modules follow the steps: ``helm`` runs ``helm template``; ``values`` merges the values
files as Helm does and finds the image entries in them; ``run`` holds one run's inputs and
first render; ``trace`` ties each rendered image to its entries or template literal;
``targets`` turns those into ``pin`` targets and values edits; ``proof`` renders again and
compares; ``plan`` runs the steps into a ``ChartPlan``; ``check`` reports ``check --chart``'s
findings at the values lines that feed them.

Running Helm and merging values live here rather than in a package of their own because
nothing else renders charts: they serve ``pin --chart`` and ``check --chart`` only, both
jobs of this layer. Should another job need them, ``helm`` and ``values`` move out as they
are, since neither imports anything of ``pin``.
"""

from __future__ import annotations

from imgdigest.pin.chart.check import chart_sites, check_chart
from imgdigest.pin.chart.helm import find_helm, render
from imgdigest.pin.chart.plan import ChartPlan, RenderedImage, pin_chart, plan_chart

__all__ = [
    "ChartPlan",
    "RenderedImage",
    "chart_sites",
    "check_chart",
    "find_helm",
    "pin_chart",
    "plan_chart",
    "render",
]
