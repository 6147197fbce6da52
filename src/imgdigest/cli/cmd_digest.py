"""``imgdigest digest``: the digest of each reference, in input order."""

from __future__ import annotations

import argparse
import sys

from imgdigest import platform as platforms
from imgdigest.cli._common import (
    PATH,
    add_registry_args,
    explained,
    failure_line,
    platform_spec,
    print_json_lines,
    read_refs,
    resolve_options,
)
from imgdigest.errors import ImgdigestError
from imgdigest.resolve import Resolution, Resolver


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "digest",
        help="print the digest of image references",
        description="Resolve each reference to its digest without pulling the image. Without "
        "--platform the digest is what the tag names (the index, for a multi-arch image): the "
        "one to pin in Kubernetes manifests.",
    )
    p.add_argument("refs", nargs="*", metavar="REF", help="image references")
    p.add_argument(
        "--from-file", type=PATH, metavar="FILE", help="read references from FILE, - for stdin"
    )
    p.add_argument(
        "--platform",
        type=platform_spec(allow_all=True),
        metavar="OS/ARCH[/VARIANT]",
        help="digest of the matching platform manifest; 'all' lists every child of an index",
    )
    p.add_argument("--full-ref", action="store_true", help="print name:tag@digest")
    p.add_argument("--drop-tag", action="store_true", help="with --full-ref, print name@digest")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("-q", "--quiet", action="store_true", help="no notes on stderr")
    add_registry_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    refs = read_refs(args.refs, args.from_file)
    if any(r.startswith(("oci:", "docker-archive:")) for r in refs):
        from imgdigest.cli import _local_digest

        return _local_digest.run(refs, args)
    want_all = args.platform == "all"
    wanted = None if want_all or not args.platform else platforms.parse(args.platform)
    children = want_all or args.format == "json"
    with explained(args) as trace, Resolver(resolve_options(args, trace)) as resolver:
        results = resolver.resolve_many(refs, platform=wanted, children=children)
    code = 0
    objs = []
    for given, res in zip(refs, results, strict=True):
        if isinstance(res, ImgdigestError):
            print(f"imgdigest: error: {failure_line(given, res)}", file=sys.stderr)
            code = code or res.exit_code
            objs.append({"reference": given, "error": str(res), "exit_code": res.exit_code})
            continue
        if args.format == "json":
            objs.append(res.to_json())
        elif want_all:
            _print_all(res, args)
        else:
            print(_shown(res, args))
            if not args.quiet:
                print(f"# {given}: {_describe(res)}", file=sys.stderr)
    if args.format == "json":
        print_json_lines(objs)
    return code


def _shown(res: Resolution, args: argparse.Namespace) -> str:
    if args.full_ref:
        return res.full_ref(keep_tag=not args.drop_tag)
    return res.digest


def _describe(res: Resolution) -> str:
    if res.is_index:
        return "index digest (multi-platform); add --platform OS/ARCH for a platform's manifest"
    if res.index_digest:
        return (
            f"platform manifest digest for {platforms.format(res.platform)} "
            f"(from index {res.index_digest})"
            if res.platform
            else f"platform manifest digest (from index {res.index_digest})"
        )
    return "manifest digest (single-platform image)"


def _print_all(res: Resolution, args: argparse.Namespace) -> None:
    print(f"{_shown(res, args)}  {res.kind}  {res.given}")
    for c in res.children:
        plat = platforms.format(c.platform) if c.platform else "-"
        note = "  (attestation)" if c.attestation else ""
        print(f"  {plat:<20} {c.digest}  {c.size}{note}")
