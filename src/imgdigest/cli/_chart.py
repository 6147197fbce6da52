"""``--chart``, ``-f`` and ``--set``, shared by ``pin`` and ``check``: render a Helm chart first."""

from __future__ import annotations

import argparse

from imgdigest.cli._common import PATH
from imgdigest.errors import UsageError


def add_chart_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("Helm chart (rendered with helm template)")
    g.add_argument(
        "--chart",
        type=PATH,
        metavar="DIR",
        help="render this chart and work on the values its images come from",
    )
    g.add_argument(
        "-f",
        "--values",
        type=PATH,
        action="append",
        default=[],
        metavar="FILE",
        help="a values file, as helm template -f takes it (repeatable)",
    )
    g.add_argument(
        "--set",
        dest="set_values",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a value, as helm template --set takes it (repeatable)",
    )
    g.add_argument("--release", default="release", help="release name to render with")


def chart_mode(args: argparse.Namespace) -> bool:
    """Whether to render a chart; chart flags without ``--chart``, or PATHs with it, are refused."""
    if args.chart is None:
        if args.values or args.set_values:
            raise UsageError("-f and --set need --chart DIR")
        if not args.paths:
            raise UsageError("give a PATH, or --chart DIR")
        return False
    if args.paths:
        raise UsageError("--chart DIR takes no PATH: its values files are found from the chart")
    return True
