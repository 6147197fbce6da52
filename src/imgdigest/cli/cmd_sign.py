"""``imgdigest sign``: sign a digest with a cosign key and store it as cosign does (``.sig``)."""

from __future__ import annotations

import argparse
import json
import sys

from imgdigest.cli._common import PATH, add_registry_args, explained, resolve_options
from imgdigest.cli._password import key_password
from imgdigest.client import Client
from imgdigest.errors import UsageError


def _annotation(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sign",
        description="Sign the digest REF resolves to with a cosign private key, and push the "
        "signature to the sha256-<hex>.sig tag beside it (added to the signatures already "
        "there), exactly as cosign stores it. The key's password comes from "
        "--password-stdin or COSIGN_PASSWORD.",
    )
    p.add_argument("ref", metavar="REF")
    p.add_argument("--key", type=PATH, required=True, metavar="KEY", help="cosign.key")
    p.add_argument(
        "--password-stdin", action="store_true", help="read the key's password from stdin"
    )
    p.add_argument(
        "-a",
        "--annotation",
        action="append",
        type=_annotation,
        default=[],
        metavar="KEY=VALUE",
        help="signed annotation in the payload's optional section (repeatable)",
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    add_registry_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    password = key_password(args.password_stdin)
    annotations = dict(args.annotation)
    if len(annotations) != len(args.annotation):
        raise UsageError("--annotation: a key is given twice")
    with explained(args) as trace, Client(resolve_options(args, trace)) as client:
        result = client.sign(args.ref, args.key, password, annotations=annotations or None)
    if args.format == "json":
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(result.tag)
        state = "signed" if result.added else "already signed with this key"
        print(
            f"imgdigest sign: {result.digest}: {state}; the tag holds {result.signatures} "
            f"signature{'s' if result.signatures != 1 else ''}",
            file=sys.stderr,
        )
    return 0
