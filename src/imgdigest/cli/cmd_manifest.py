"""``imgdigest manifest``: the manifest or index exactly as served, byte for byte."""

from __future__ import annotations

import argparse
import json
import sys

from imgdigest.cli._explore import REF_HELP, add_common, session


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "manifest",
        description="Print the manifest or index a reference names, byte for byte, so that "
        "`imgdigest manifest REF | sha256sum` gives its digest. With --platform, the "
        "platform's manifest from an index.",
    )
    p.add_argument("ref", metavar="REF", help=REF_HELP)
    p.add_argument("--pretty", action="store_true", help="indent the JSON (changes the bytes)")
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with session(args) as client:
        info = client.manifest(args.ref, args.platform)
    if args.pretty:
        sys.stdout.write(json.dumps(info.manifest.json, indent=2) + "\n")
    else:
        sys.stdout.buffer.write(info.raw)
    sys.stdout.flush()
    return 0
