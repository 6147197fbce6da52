"""``imgdigest referrers``: what is attached to a digest (signatures, attestations, SBOMs)."""

from __future__ import annotations

import argparse
import json
import sys

from imgdigest.cli._explore import REF_HELP, add_common, session
from imgdigest.explore import human_size


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "referrers",
        description="List the artifacts that refer to the digest REF names: cosign "
        "signatures, in-toto attestations (with their predicate type), SPDX and CycloneDX "
        "SBOMs, notation signatures. Asks the registry's referrers API, else the referrers "
        "tag schema (sha256-HEX), and cosign's sha256-HEX.sig/.att/.sbom tags; an OCI "
        "layout's index.json. Every manifest is fetched by digest and verified; an entry "
        "whose subject is another digest is left out with a note.",
    )
    p.add_argument("ref", metavar="REF", help=REF_HELP)
    p.add_argument("--artifact-type", metavar="TYPE", help="only artifacts of this artifactType")
    p.add_argument("--format", choices=("text", "json"), default="text")
    add_common(p, platform=False)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with session(args) as client:
        found = client.referrers(args.ref, artifact_type=args.artifact_type)
    if args.format == "json":
        print(json.dumps(found.to_json(), indent=2))
        return 0
    for r in found.referrers:
        where = r.tag or r.found_by
        print(f"{r.describe()}\t{r.digest}\t{human_size(r.size)}\t{r.created or '-'}\t{where}")
    print(f"# {len(found.referrers)} referrers of {found.digest} ({found.method})", file=sys.stderr)
    for note in found.notes:
        print(f"# {note}", file=sys.stderr)
    return 0
