"""``imgdigest copy``: copy an image or a whole index by digest; prints ``DST@DIGEST``."""

from __future__ import annotations

import argparse
import json
import sys

from imgdigest.cli._common import (
    ByteProgress,
    add_registry_args,
    explained,
    platform_spec,
    resolve_options,
    whole,
)
from imgdigest.client import Client
from imgdigest.errors import UsageError
from imgdigest.registry.upload import DEFAULT_CHUNK_SIZE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "copy",
        description="Copy what SRC names to DST: every platform of an index (the default, "
        "--all-platforms) or one (--platform). Blobs already at DST are skipped, blobs in "
        "another repository of the same registry are mounted, everything is verified, and "
        "an interrupted copy resumes where it stopped when run again. What refers to the "
        "copied manifests (signatures, attestations, SBOMs, cosign's .sig/.att/.sbom tags) "
        "is copied too, into the destination's referrers API or tag schema, or an OCI "
        "layout's index.json. Prints DST@DIGEST, which equals the source digest.",
    )
    p.add_argument("src", metavar="SRC", help="image reference, oci:DIR[:TAG], docker-archive:FILE")
    p.add_argument(
        "dst", metavar="DST", help="image reference, oci:DIR[:TAG] or docker-archive:FILE[:NAME]"
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--all-platforms",
        action="store_true",
        help="copy the whole index with every platform and attestation (the default)",
    )
    which.add_argument(
        "--platform",
        type=platform_spec(),
        metavar="OS/ARCH[/VARIANT]",
        help="copy only this platform",
    )
    p.add_argument(
        "--chunk-size",
        type=whole(1, 2**31, "bytes"),
        default=DEFAULT_CHUNK_SIZE,
        metavar="BYTES",
        help="blobs larger than this are uploaded in chunks of this size",
    )
    p.add_argument(
        "--no-referrers",
        dest="referrers",
        action="store_false",
        help="leave signatures, attestations and SBOMs attached to the image behind",
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument(
        "-q", "--quiet", action="store_true", help="no summary or progress line on stderr"
    )
    add_registry_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.chunk_size <= 0:
        raise UsageError("--chunk-size must be positive")
    with explained(args) as trace, Client(resolve_options(args, trace)) as client:
        progress = None if args.quiet else ByteProgress.on_terminal(f"copy {args.src}")
        try:
            report = client.copy(
                args.src,
                args.dst,
                args.platform,
                chunk_size=args.chunk_size,
                progress=progress.update if progress else None,
                referrers=args.referrers,
            )
        finally:
            if progress is not None:
                progress.finish()
    if args.format == "json":
        print(json.dumps(report.to_json()))
    else:
        print(report.reference)
    if not args.quiet:
        print(f"# copied {args.src}: {report.summary()}", file=sys.stderr)
    return 0
