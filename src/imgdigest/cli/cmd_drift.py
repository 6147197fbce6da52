"""``imgdigest drift``: report unpinned, moved and missing pins, for CI. Writes nothing."""

from __future__ import annotations

import argparse

from imgdigest.cli._common import (
    add_registry_args,
    add_verify_arg,
)
from imgdigest.cli._files import add_file_args, check_paths, run_drift


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "drift",
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
