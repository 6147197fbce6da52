"""``imgdigest digest`` for lists that name local images (``oci:``, ``docker-archive:``).

Local references are answered from the layout or archive without a network; registry
references in the same list still go through the resolver in one batch. Output keeps
input order and the shapes ``digest`` prints for registry references.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from imgdigest import platform as platforms
from imgdigest.cli._common import explained, failure_line, resolve_options
from imgdigest.display import problem
from imgdigest.errors import ImgdigestError
from imgdigest.explore import select
from imgdigest.media import kind_of
from imgdigest.resolver import Resolution, Resolver
from imgdigest.sources import is_local, open_local, parse_local


def run(refs: list[str], args: argparse.Namespace) -> int:
    with explained(args) as trace, Resolver(resolve_options(args, trace)) as resolver:
        return run_batch(resolver, refs, args)


def run_batch(resolver: Resolver, refs: list[str], args: argparse.Namespace) -> int:
    """Answer and print one batch of a list that names local images, on ``resolver``."""
    want_all = args.platform == "all"
    wanted = None if want_all or not args.platform else platforms.parse(args.platform)
    remote = [r for r in refs if not is_local(r)]
    answers: dict[str, Any] = {}
    if remote:
        got = resolver.resolve_many(remote, platform=wanted, children=want_all)
        answers.update(zip(remote, got, strict=True))
    for r in refs:
        if is_local(r):
            answers[r] = _local(resolver, r, wanted)
    code = 0
    for given in refs:
        res = answers[given]
        if isinstance(res, ImgdigestError):
            print(problem("error", failure_line(given, res)), file=sys.stderr)
            code = code or res.exit_code
            if args.format == "json":
                err = {"reference": given, "error": str(res), "exit_code": res.exit_code}
                print(json.dumps(err))
            continue
        if isinstance(res, Resolution):
            if args.format == "json":
                print(json.dumps(res.to_json()))
            else:
                print(res.full_ref(not args.drop_tag) if args.full_ref else res.digest)
            continue
        if args.format == "json":
            print(json.dumps(res))
            continue
        print(f"{given.split('@', 1)[0]}@{res['digest']}" if args.full_ref else res["digest"])
        if want_all:
            for c in res["children"]:
                print(f"  {c['platform'] or '-':<20} {c['digest']}  {c['size']}")
    return code


def _local(resolver: Resolver, given: str, wanted: platforms.Platform | None) -> Any:
    try:
        source = open_local(parse_local(given), given)
    except ImgdigestError as exc:
        return exc
    try:
        sel = resolver.run(select(source, wanted, need_image=False))
        m = sel.manifest
        return {
            "reference": given,
            "digest": sel.digest,
            "kind": "platform manifest" if sel.index_digest else kind_of(m.media_type),
            "media_type": m.media_type,
            "size": len(m.raw),
            "index_digest": sel.index_digest,
            "platform": platforms.format_all(sel.platform) if sel.platform else None,
            "children": [
                {
                    "platform": platforms.format(d.platform) if d.platform else None,
                    "digest": d.digest,
                    "media_type": d.media_type,
                    "size": d.size,
                    "attestation": d.is_attestation,
                }
                for d in m.manifests
            ],
        }
    except ImgdigestError as exc:
        return exc
    finally:
        resolver.run(source.aclose())
