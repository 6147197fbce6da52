"""``imgdigest tree``: the content-addressed graph of an image, as a terminal tree."""

from __future__ import annotations

import argparse
import json

from imgdigest.cli._explore import REF_HELP, add_common, session
from imgdigest.explore import render_tree


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tree",
        description="Draw what a reference names: an index with one manifest per platform, "
        "each with its config and layers; short digests, media types, sizes and totals "
        "(shared blobs counted once). Attestations and artifacts are marked; what refers "
        "to each manifest (signatures, attestations, SBOMs) is shown under it.",
    )
    p.add_argument("ref", metavar="REF", help=REF_HELP)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--full-digests", action="store_true", help="do not shorten digests")
    p.add_argument(
        "--no-referrers",
        dest="referrers",
        action="store_false",
        help="do not look for signatures, attestations and SBOMs attached to each manifest",
    )
    add_common(p, platform=False)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with session(args) as client:
        found = client.tree(args.ref, referrers=args.referrers)
    if args.format == "json":
        print(json.dumps(found.to_json(), indent=2))
    else:
        for line in render_tree(found.root, args.full_digests):
            print(line)
    return 0
