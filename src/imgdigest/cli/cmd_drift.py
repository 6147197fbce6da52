"""``imgdigest drift``: report unpinned, moved and missing pins, for CI. Writes nothing."""

from __future__ import annotations

import argparse
import json
import sys

from imgdigest.cli._common import (
    add_registry_args,
    add_verify_arg,
    explained,
    resolve_options,
    warn,
)
from imgdigest.cli.cmd_pin import add_file_args, check_paths, finder_options
from imgdigest.display import count, problem, safe
from imgdigest.drift import drift_paths


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "drift",
        help="check that every image in files is pinned and every pin still holds",
        description="Exit 1 when a file has an unpinned reference, a pinned digest whose tag "
        "now names other content (per-platform pins compared per platform), or a pinned "
        "digest that its registry and mirrors no longer have. Writes nothing.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or directories; - for stdin")
    p.add_argument(
        "--offline", action="store_true", help="only report unpinned references (no registry)"
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("-q", "--quiet", action="store_true", help="no notes or summary on stderr")
    add_file_args(p)
    add_verify_arg(p)
    add_registry_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_paths(args.paths)
    return run_drift(args)


def run_drift(args: argparse.Namespace) -> int:
    """Shared with ``pin --check``."""
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
