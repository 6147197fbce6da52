"""``imgdigest verify``: is this digest signed with this key (cosign signatures, attestations)?"""

from __future__ import annotations

import argparse
import json
import sys

from imgdigest.cli._common import PATH, add_registry_args, explained, nonblank, resolve_options
from imgdigest.client import Client


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        description="Verify the cosign signatures of the digest REF resolves to, offline with "
        "a public key: a payload at the sha256-<hex>.sig tag must verify with the key and name "
        "that digest. Exit 0 when at least one does; 8 no signature, 9 signed for another "
        "digest or identity, 10 no signature verifies with the key.",
    )
    p.add_argument("ref", metavar="REF")
    p.add_argument(
        "--key", type=PATH, required=True, metavar="KEY.pub", help="PEM public key (cosign.pub)"
    )
    p.add_argument(
        "--identity",
        type=nonblank("an image repository"),
        metavar="REPO",
        help="also require the payload's docker-reference to be this repository",
    )
    p.add_argument(
        "--attestations",
        action="store_true",
        help="verify in-toto attestations (DSSE, the .att tag) instead, and show their "
        "predicate types",
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    add_registry_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with explained(args) as trace, Client(resolve_options(args, trace)) as client:
        report = client.verify(
            args.ref, args.key, identity=args.identity, attestations=args.attestations
        )
    if args.format == "json":
        print(json.dumps(report.to_json(), indent=2))
    else:
        for check in report.checks:
            line = f"{check.status:<14} {check.kind:<11} {check.layer}"
            if check.predicate_type:
                line += f"  {check.predicate_type}"
            if check.status not in ("valid",) and check.signed_digest:
                line += f"  signs {check.signed_digest}"
            elif check.status == "other-identity":
                line += f"  identity {check.identity}"
            elif check.detail and check.status != "valid":
                line += f"  ({check.detail})"
            print(line)
    error = report.error()
    if error is not None:
        print(f"imgdigest: error: {error}", file=sys.stderr)
        return error.exit_code
    count = len(report.valid)
    what = "attestation" if args.attestations else "signature"
    print(
        f"imgdigest verify: {report.digest}: {count} valid {what}{'s' if count != 1 else ''}",
        file=sys.stderr,
    )
    return 0
