"""``imgdigest keygen``: write a cosign key pair (``cosign.key`` encrypted, ``cosign.pub``)."""

from __future__ import annotations

import argparse
import json
import sys

from imgdigest.cli._common import nonblank
from imgdigest.cli._password import key_password


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "keygen",
        description="Write PREFIX.key, a private key in cosign's encrypted format (scrypt and "
        "NaCl secretbox; mode 0600), and PREFIX.pub, its PEM public key. cosign reads both. "
        "The password comes from --password-stdin or COSIGN_PASSWORD.",
    )
    p.add_argument(
        "--output-key-prefix",
        type=nonblank("a path prefix"),
        default="cosign",
        metavar="PREFIX",
        help="where to write (default: cosign, giving cosign.key and cosign.pub)",
    )
    p.add_argument(
        "--type",
        choices=("ecdsa-p256", "ecdsa-p384", "ed25519", "rsa"),
        default="ecdsa-p256",
        help="key type (default: ecdsa-p256, as cosign)",
    )
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.add_argument("--force", action="store_true", help="replace existing key files")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imgdigest.signatures.keys import generate_keys

    password = key_password(args.password_stdin)
    pair = generate_keys(args.output_key_prefix, password, kind=args.type, overwrite=args.force)
    if args.format == "json":
        print(json.dumps(pair.to_json(), indent=2))
    else:
        sys.stdout.write(pair.public_pem)
        print(
            f"imgdigest keygen: wrote {pair.private_path} and {pair.public_path}", file=sys.stderr
        )
    return 0
