"""``imgdigest ls``: the tags of a repository, or the images of a local layout.

For a registry, tags are printed page by page as they arrive (``Link`` pagination),
so ten thousand tags start printing after the first request. For ``oci:DIR`` and
``docker-archive:FILE`` every image is listed with its digest, as
``docker images --digests`` lists the local daemon's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from imgdigest.cli._common import add_registry_args, explained, resolve_options, whole
from imgdigest.client import Client
from imgdigest.errors import UsageError
from imgdigest.explore import human_size
from imgdigest.media import kind_of
from imgdigest.registry.tags import PAGE_SIZE
from imgdigest.sources import is_local, open_local, parse_local


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ls",
        description="List every tag of REPO, following the registry's pagination; with "
        "--format json also the digest -> tags map GCR and Artifact Registry send. For a "
        "local layout or archive, list each image with its digest.",
    )
    p.add_argument("repo", metavar="REPO", help="repository, oci:DIR or docker-archive:FILE")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument(
        "--page-size",
        type=whole(1, 10000, "tags"),
        default=PAGE_SIZE,
        metavar="N",
        help="tags asked per request",
    )
    add_registry_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if is_local(args.repo):
        return _local(args)
    if args.page_size <= 0:
        raise UsageError("--page-size must be positive")
    with explained(args) as trace, Client(resolve_options(args, trace)) as client:
        if args.format == "json":
            print(json.dumps(client.tags(args.repo, page_size=args.page_size).to_json(), indent=2))
            return 0
        for page in client.tag_pages(args.repo, page_size=args.page_size):
            if page.tags:
                sys.stdout.write("\n".join(page.tags) + "\n")
                sys.stdout.flush()
    return 0


def _local(args: argparse.Namespace) -> int:
    local = parse_local(args.repo)
    if local.selector:
        raise UsageError(f"{args.repo}: ls lists a whole layout; leave out :{local.selector}")
    source = open_local(local, args.repo)
    try:
        entries = source.images()
    finally:
        asyncio.run(source.aclose())
    if args.format == "json":
        rows = [
            {
                "names": list(e.names),
                "digest": e.digest,
                "media_type": e.descriptor.media_type,
                "size": e.descriptor.size,
            }
            for e in entries
        ]
        print(json.dumps({"layout": args.repo, "images": rows}, indent=2))
        return 0
    width = max([len(e.names[0]) if e.names else 6 for e in entries] + [4])
    print(f"{'NAME':<{width}}  {'DIGEST':<71}  {'KIND':<8}  SIZE")
    for e in entries:
        name = e.names[0] if e.names else "<none>"
        d = e.descriptor
        print(f"{name:<{width}}  {d.digest:<71}  {kind_of(d.media_type):<8}  {human_size(d.size)}")
    return 0
