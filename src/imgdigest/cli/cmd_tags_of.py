"""``imgdigest tags-of``: the tags whose manifest is a digest, or whose index holds it."""

from __future__ import annotations

import argparse
import json
import sys

from imgdigest import reference as references
from imgdigest.cli._common import add_registry_args, explained, resolve_options
from imgdigest.errors import UsageError
from imgdigest.resolver import Resolver
from imgdigest.tagsof import tags_of


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tags-of",
        help="find the tags that name a digest (directly or through an index)",
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
    ref = references.parse_normalized(args.ref)
    if not ref.digest:
        raise UsageError(f"{args.ref}: give the digest to look for: NAME@sha256:...")
    with explained(args) as trace, Resolver(resolve_options(args, trace)) as r:
        result = r.run(tags_of(r.inner, ref, ref.digest))
    for tag, reason in result.failed:
        print(f"imgdigest: warning: {ref.name}:{tag}: {reason}", file=sys.stderr)
    if args.format == "json":
        obj = {
            "reference": args.ref,
            "digest": ref.digest,
            "tags": [m.to_json() for m in result.matches],
            "tags_listed": result.tags_listed,
            "method": result.method,
        }
        print(json.dumps(obj, indent=2))
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
