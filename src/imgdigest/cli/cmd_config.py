"""``imgdigest config``: an image's config object, fetched by digest and verified."""

from __future__ import annotations

import argparse
import json
import sys

from imgdigest.cli._explore import REF_HELP, add_common, note_selection, session


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "config",
        description="Fetch the config blob a manifest names, verify it against its digest "
        "and print it as stored (--pretty indents it). An index needs a platform; without "
        "--platform this machine's is used.",
    )
    p.add_argument("ref", metavar="REF", help=REF_HELP)
    p.add_argument("--pretty", action="store_true", help="indent the JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no notes on stderr")
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with session(args) as client:
        config = client.config(args.ref, args.platform)
    note_selection(args, args.ref, config)
    if args.pretty:
        sys.stdout.write(json.dumps(config.json, indent=2) + "\n")
    else:
        sys.stdout.buffer.write(config.raw)
    sys.stdout.flush()
    return 0
