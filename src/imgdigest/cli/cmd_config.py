"""``imgdigest config``: an image's config object, fetched by digest and verified."""

from __future__ import annotations

import argparse
import json
import sys

from imgdigest.cli._explore import REF_HELP, add_common, note_selection, session
from imgdigest.explore import config_bytes, select
from imgdigest.media import parse_config


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "config",
        help="print an image's config (architecture, entrypoint, env, history, diff_ids)",
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
    with session(args, args.ref) as s:
        sel = s.run(select(s.source, args.platform))
        data = s.run(config_bytes(s.source, sel.manifest, sel.digest))
    note_selection(args, args.ref, sel)
    if args.pretty:
        obj = parse_config(data, args.ref)
        sys.stdout.write(json.dumps(obj, indent=2) + "\n")
    else:
        sys.stdout.buffer.write(data)
    sys.stdout.flush()
    return 0
