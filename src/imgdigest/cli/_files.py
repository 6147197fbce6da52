"""What the file commands (``pin``, ``drift``, ``lock``) share on the command line.

The file-selection flags, so the three commands see the same files, and the drift report,
which ``drift`` prints and ``pin --check`` prints too. Command modules import from here,
never from one another.
"""

from __future__ import annotations

import argparse
import json
import sys

from imgdigest.cli._common import PATH, explained, nonblank, resolve_options, warn
from imgdigest.display import count, problem, safe
from imgdigest.documents import STDIN, FinderOptions, load_config
from imgdigest.errors import UsageError


def add_file_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("file selection")
    g.add_argument(
        "--exclude",
        action="append",
        type=nonblank("a glob"),
        default=[],
        metavar="GLOB",
        help="skip matching paths when walking directories (repeatable)",
    )
    g.add_argument(
        "--config",
        type=PATH,
        metavar="FILE",
        help="project configuration: excludes and image paths of custom resources",
    )


def finder_options(args: argparse.Namespace) -> FinderOptions:
    base = FinderOptions(exclude=tuple(args.exclude))
    if args.config:
        return load_config(args.config).finder_options(base)
    return base


def check_paths(paths: list[str]) -> None:
    if STDIN in paths and len(paths) > 1:
        raise UsageError("- (stdin) cannot be combined with other paths")


def run_drift(args: argparse.Namespace) -> int:
    """Shared with ``pin --check``."""
    from imgdigest.drift import drift_paths

    offline = bool(getattr(args, "offline", False))
    with explained(args) as trace:
        report = drift_paths(
            args.paths,
            None if offline else resolve_options(args, trace),
            finder=finder_options(args),
            offline=offline,
        )
    if args.format == "json":
        print(json.dumps(report.to_json(), indent=2))
    else:
        for finding in report.findings:
            print(safe(str(finding)))
    for error in report.errors:
        print(problem("error", str(error)), file=sys.stderr)
    for failure in report.failures:
        print(safe(str(failure)), file=sys.stderr)
    if not args.quiet:
        for note in report.notes:
            print(problem("note", str(note)), file=sys.stderr)
        if args.format == "text":
            s = report.to_json()["summary"]
            warn(
                f"{count(s['images'], 'image')} in {count(s['files'], 'file')}: "
                f"{s['unpinned']} unpinned, "
                f"{s['moved']} moved, {s['missing']} missing, {s['failures']} failed"
            )
    return report.exit_code
