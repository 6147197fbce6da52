"""``imgdigest ref``: parse and normalize references offline."""

from __future__ import annotations

import argparse
import json
import sys

from imgdigest import reference as references
from imgdigest.cli._common import PATH, read_refs
from imgdigest.errors import ImgdigestError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ref",
        description="Print each reference in canonical form (docker.io/library/ubuntu:latest), "
        "or its parts with --format json. Invalid references get the precise reason.",
    )
    p.add_argument("refs", nargs="*", metavar="REF")
    p.add_argument(
        "--from-file", type=PATH, metavar="FILE", help="read references from FILE, - for stdin"
    )
    p.add_argument("--familiar", action="store_true", help="print the short Docker form")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    code = 0
    for given in read_refs(args.refs, args.from_file):
        try:
            ref = references.normalize(given)
        except ImgdigestError as exc:
            print(f"imgdigest: error: {given}: {exc}", file=sys.stderr)
            if args.format == "json":
                print(json.dumps({"reference": given, "error": str(exc)}))
            code = code or exc.exit_code
            continue
        if args.format == "json":
            obj = {
                "reference": given,
                "canonical": str(ref),
                "familiar": ref.familiar_string,
                "name": ref.name,
                "registry": ref.domain,
                "api_host": references.api_host(ref.domain),
                "repository": ref.path,
                "tag": ref.tag,
                "digest": ref.digest,
            }
            print(json.dumps(obj))
        else:
            print(ref.familiar_string if args.familiar else str(ref))
    return code
