"""``imgdigest layers``: one row per layer, with the diff_id the config records."""

from __future__ import annotations

import argparse
import json

from imgdigest.cli._explore import REF_HELP, add_common, note_selection, session
from imgdigest.explore import human_size


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "layers",
        description="One row per layer of the image (of the platform's image for an index): "
        "position, compressed digest, media type, compressed size and the uncompressed "
        "digest (diff_id) from the config.",
    )
    p.add_argument("ref", metavar="REF", help=REF_HELP)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("-q", "--quiet", action="store_true", help="no notes on stderr")
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with session(args) as client:
        found = client.layers(args.ref, args.platform)
    note_selection(args, args.ref, found)
    if args.format == "json":
        print(json.dumps(found.to_json(), indent=2))
        return 0
    for r in found.layers:
        d = r.descriptor
        print(
            f"{r.index:>3}  {d.digest}  {d.media_type}  {human_size(d.size):>9}  "
            f"diff_id {r.diff_id or '-'}"
        )
    return 0
