"""``imgdigest lock``: record what every image reference in files resolves to now."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from imgdigest.cli._common import (
    PATH,
    add_registry_args,
    add_verify_arg,
    explained,
    platform_spec,
    resolve_options,
    warn,
)
from imgdigest.cli._files import add_file_args, check_paths, finder_options
from imgdigest.display import count, problem, safe
from imgdigest.files import Replacement, replace_files
from imgdigest.lock import lock_paths


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lock",
        description="Resolve every tagged image reference found under PATH and write a lock "
        "file; `pin --lock FILE --offline` then pins with no network, reproducibly. Index "
        "entries list their platforms' digests. Nothing is written if any reference fails.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or directories; - for stdin")
    p.add_argument(
        "-o", "--output", type=PATH, metavar="FILE", help="lock file to write (default: stdout)"
    )
    p.add_argument(
        "--platform",
        type=platform_spec(),
        metavar="OS/ARCH[/VARIANT]",
        help="also record this platform's manifest digest for every reference",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no notes or summary on stderr")
    add_file_args(p)
    add_verify_arg(p)
    add_registry_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_paths(args.paths)
    with explained(args) as trace:
        report = lock_paths(
            args.paths,
            resolve_options(args, trace),
            platform=args.platform,
            finder=finder_options(args),
        )
    for error in report.errors:
        print(problem("error", str(error)), file=sys.stderr)
    for failure in report.failures:
        print(safe(str(failure)), file=sys.stderr)
    if report.failures:
        return report.exit_code
    text = report.lock.dumps()
    if args.output:
        replace_files([Replacement(Path(args.output), text.encode("utf-8"))])
    else:
        sys.stdout.write(text)
    if not args.quiet:
        files = count(len(report.scans), "file")
        warn(f"locked {count(len(report.lock), 'reference')} from {files}")
    return report.exit_code
