"""``imgdigest digest``: the digest of each reference, in input order."""

from __future__ import annotations

import argparse
import itertools
import sys
from collections import OrderedDict
from collections.abc import Iterator
from typing import BinaryIO

from imgdigest import platform as platforms
from imgdigest.cli._common import (
    PATH,
    add_registry_args,
    explained,
    failure_line,
    platform_spec,
    print_json_lines,
    resolve_options,
)
from imgdigest.client import Client
from imgdigest.display import problem
from imgdigest.errors import ImgdigestError, UsageError
from imgdigest.resolver import Resolution


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "digest",
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


#: References resolved at a time: enough to keep every connection busy, few enough that
#: memory stays flat however long the list (each batch is printed before the next is read).
BATCH = 1000
#: Answers kept for references repeated further down the list (a run is one snapshot, as
#: when the whole list was resolved at once): bounded, so memory stays flat too.
REMEMBER = 4096


def iter_refs(args_refs: list[str], from_file: str | None) -> Iterator[str]:
    """The references of the arguments, then of ``from_file`` (``-``: stdin), read lazily.

    Blank lines and ``#`` comments are skipped. A line that is not UTF-8 is a usage error
    naming the file and line.
    """
    yield from args_refs
    if not from_file:
        return
    try:
        f: BinaryIO = sys.stdin.buffer if from_file == "-" else open(from_file, "rb")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"{from_file}: cannot read: {exc.strerror}") from None
    with f:
        for number, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                raise UsageError(f"{from_file}:{number}: not UTF-8") from None
            if line and not line.startswith("#"):
                yield line


def _batches(refs: Iterator[str], size: int) -> Iterator[list[str]]:
    while batch := list(itertools.islice(refs, size)):
        yield batch


def run(args: argparse.Namespace) -> int:
    batches = _batches(iter_refs(args.refs, args.from_file), BATCH)
    first = next(batches, None)
    if first is None:
        raise UsageError("no image references given (pass them as arguments or with --from-file)")
    want_all = args.platform == "all"
    wanted = None if want_all or not args.platform else platforms.parse(args.platform)
    children = want_all or args.format == "json"
    code = 0
    seen: OrderedDict[str, Resolution | ImgdigestError] = OrderedDict()
    with explained(args) as trace, Client(resolve_options(args, trace)) as client:
        for batch in itertools.chain([first], batches):
            done = _print_batch(batch, _answers(client, batch, wanted, children, seen), args)
            code = code or done
            sys.stdout.flush()
    return code


def _answers(
    client: Client,
    batch: list[str],
    wanted: platforms.Platform | None,
    children: bool,
    seen: OrderedDict[str, Resolution | ImgdigestError],
) -> list[Resolution | ImgdigestError]:
    """One batch's answers, each distinct reference asked once (recent ones remembered)."""
    new = [r for r in dict.fromkeys(batch) if r not in seen]
    if new:
        got = client.resolve_many(new, platform=wanted, children=children)
        for ref, res in zip(new, got, strict=True):
            # a kept error must not keep its traceback's frames (and their locals) alive
            seen[ref] = res.with_traceback(None) if isinstance(res, ImgdigestError) else res
    answers = []
    for r in batch:
        seen.move_to_end(r)
        answers.append(seen[r])
    while len(seen) > REMEMBER:
        seen.popitem(last=False)
    return answers


def _print_batch(
    refs: list[str], results: list[Resolution | ImgdigestError], args: argparse.Namespace
) -> int:
    code = 0
    want_all = args.platform == "all"
    objs = []
    for given, res in zip(refs, results, strict=True):
        if isinstance(res, ImgdigestError):
            print(problem("error", failure_line(given, res)), file=sys.stderr)
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
