"""``imgdigest krm``: a kustomize transformer that pins every image of the build.

It only reads stdin, calls :func:`imgdigest.krm.pin_resources` and writes the pinned
resources to stdout; problems go to stderr, and nothing goes to stdout when any image
failed, so kustomize stops instead of deploying a half-pinned build.
"""

from __future__ import annotations

import argparse
import json
import sys

from imgdigest.cli._common import (
    PATH,
    add_registry_args,
    add_verify_arg,
    explained,
    platform_spec,
    resolve_options,
)
from imgdigest.display import problem, safe
from imgdigest.jsonfile import decode_text


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "krm",
        description="Read what kustomize gives a transformer on stdin and write it back with "
        "every image pinned to name:tag@digest, no other byte changed. Without CONFIG, stdin "
        "is a KRM ResourceList (an exec KRM function) and its functionConfig holds the "
        "settings; with CONFIG (the path kustomize passes a legacy exec plugin) stdin is a "
        "plain resource stream. Settings: lock, offline, platform, dropTag; flags add to them.",
    )
    p.add_argument(
        "config", nargs="?", type=PATH, metavar="CONFIG", help="a legacy exec plugin's config"
    )
    p.add_argument(
        "--lock",
        type=PATH,
        action="append",
        default=[],
        metavar="FILE",
        help="take digests from a lock file (repeatable; added to the config's)",
    )
    p.add_argument("--offline", action="store_true", help="never contact a registry (needs a lock)")
    p.add_argument(
        "--platform",
        type=platform_spec(),
        metavar="OS/ARCH[/VARIANT]",
        help="pin this platform's manifest instead of the multi-platform index",
    )
    p.add_argument("--drop-tag", action="store_true", help="write name@digest, without the tag")
    p.add_argument(
        "--format",
        choices=("yaml", "json"),
        default="yaml",
        help="yaml: the pinned resources (default); json: the plan, for inspection",
    )
    add_verify_arg(p)
    add_registry_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imgdigest.krm import KrmSettings, pin_resources

    text = decode_text(sys.stdin.buffer.read(), "-", "input")
    flags = KrmSettings(
        lock=tuple(args.lock),
        offline=args.offline,
        platform=args.platform,
        drop_tag=args.drop_tag,
    )
    with explained(args) as trace:
        result = pin_resources(text, flags, resolve_options(args, trace), config=args.config)
    for error in result.plan.errors:
        print(problem("error", str(error)), file=sys.stderr)
    for failure in result.plan.failures:
        print(safe(str(failure)), file=sys.stderr)
    if args.format == "json":
        print(json.dumps(result.to_json(), indent=2))
    elif result.text is not None:
        sys.stdout.flush()
        sys.stdout.buffer.write(result.text.encode("utf-8"))
    return result.exit_code
