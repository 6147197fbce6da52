"""``imgdigest tags-of``: the tags whose manifest is a digest, or whose index holds it."""

from __future__ import annotations

import argparse
import json
import sys

from imgdigest import reference as references
from imgdigest.cli._common import add_registry_args, explained, resolve_options
from imgdigest.client import Client


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tags-of",
        description="List the tags of NAME whose manifest is DIGEST, and those naming an "
        "index that has DIGEST as a platform manifest. One listing where the registry's tag "
        "list carries digests; otherwise one concurrent HEAD per tag.",
    )
    p.add_argument("ref", metavar="NAME@DIGEST")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    add_registry_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with explained(args) as trace, Client(resolve_options(args, trace)) as client:
        result = client.tags_of(args.ref)
    name = references.parse_normalized(args.ref).name
    for tag, reason in result.failed:
        print(f"imgdigest: warning: {name}:{tag}: {reason}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(result.to_json(), indent=2))
    else:
        for m in result.matches:
            if m.via_index:
                where = f" as {m.platform}" if m.platform else ""
                print(f"{m.tag}  (index {m.digest}{where})")
            else:
                print(m.tag)
    if not args.quiet:
        print(
            f"# {len(result.matches)} of {result.tags_listed} tags ({result.method})",
            file=sys.stderr,
        )
    return 0
