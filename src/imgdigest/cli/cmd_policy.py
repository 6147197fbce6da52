"""``imgdigest policy``: print admission policies that enforce what ``check`` enforces."""

from __future__ import annotations

import argparse
import sys

from imgdigest.cli._common import PATH, nonblank
from imgdigest.policy import gatekeeper, kyverno


def _split(values: list[str]) -> list[str]:
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "policy",
        description="Print a cluster policy with the same verdicts as `imgdigest check`, "
        "ready for `kubectl apply -f -`.",
    )
    engines = p.add_subparsers(dest="engine", metavar="ENGINE")
    engines.required = True

    g = engines.add_parser(
        "gatekeeper",
        help="ConstraintTemplate K8sImageDigests and a Constraint",
        description="Print the K8sImageDigests ConstraintTemplate (the Gatekeeper library's "
        "Rego, version 1.0.1) and a Constraint. Defaults to the seed's constraint: Pods in "
        "the default namespace.",
    )
    _common(g)
    g.add_argument(
        "--kinds",
        action="append",
        type=nonblank("KIND[,KIND]"),
        default=[],
        metavar="KIND[,KIND]",
        help="kinds to match (default Pod); workload kinds add rules for their pod templates; "
        "other kinds as GROUP/Kind",
    )
    g.add_argument(
        "--strict",
        action="store_true",
        help="also require a valid reference with a well-formed digest (as check --strict)",
    )
    g.add_argument(
        "--enforcement-action",
        choices=gatekeeper.ENFORCEMENT_ACTIONS,
        help="deny (default), warn, dryrun",
    )
    g.add_argument(
        "--name",
        type=nonblank("a name"),
        default=gatekeeper.DEFAULT_CONSTRAINT_NAME,
        help="the Constraint's name",
    )
    g.set_defaults(func=run_gatekeeper)

    k = engines.add_parser(
        "kyverno",
        help="a Kyverno ClusterPolicy",
        description="Print a Kyverno ClusterPolicy validating that every image has a digest "
        "(Kyverno applies it to pod controllers too), optionally pinning tags at admission.",
    )
    _common(k)
    k.add_argument(
        "--mutate-digest",
        action="store_true",
        help="add a verifyImages rule with mutateDigest: Kyverno pins tags to digests",
    )
    k.add_argument(
        "--key",
        type=PATH,
        metavar="KEY.pub",
        help="also require a cosign signature this public key verifies (a verifyImages rule "
        "with the key as attestor; offline: no transparency log)",
    )
    k.add_argument("--failure-action", choices=kyverno.FAILURE_ACTIONS, default="Enforce")
    k.add_argument(
        "--name",
        type=nonblank("a name"),
        default=kyverno.DEFAULT_NAME,
        help="the ClusterPolicy's name",
    )
    k.set_defaults(func=run_kyverno)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--exempt",
        action="append",
        type=nonblank("an image or a prefix ending in *"),
        default=[],
        metavar="PATTERN",
        help="exempt this image: exact, or a prefix when it ends in * (repeatable)",
    )
    p.add_argument(
        "--namespace",
        action="append",
        type=nonblank("a namespace"),
        default=[],
        metavar="NS",
        help="namespaces to enforce in (repeatable)",
    )
    p.add_argument("--all-namespaces", action="store_true", help="enforce in every namespace")


def _namespaces(args: argparse.Namespace, default: tuple[str, ...] | None) -> list[str] | None:
    if args.all_namespaces:
        return None
    return _split(args.namespace) or (list(default) if default else None)


#: A YAML comment heading the output: it travels with the policy into the repository that
#: keeps it, where a reader looks for signature checks, and kubectl ignores it.
GATEKEEPER_SIGNATURE_NOTE = (
    "# Gatekeeper's Rego cannot verify image signatures: it sees the admission request,\n"
    "# never the registry. To deny digests without a valid cosign signature, run the\n"
    "# imgdigest webhook with --require-signature (docs/signatures.md), and gate CI with\n"
    "# imgdigest check --verify --key cosign.pub.\n"
)


def run_gatekeeper(args: argparse.Namespace) -> int:
    sys.stdout.write(GATEKEEPER_SIGNATURE_NOTE)
    sys.stdout.write(
        gatekeeper.render(
            exempt=args.exempt,
            namespaces=_namespaces(args, gatekeeper.DEFAULT_NAMESPACES),
            kinds=_split(args.kinds) or list(gatekeeper.DEFAULT_KINDS),
            strict=args.strict,
            name=args.name,
            enforcement_action=args.enforcement_action,
        )
    )
    return 0


def run_kyverno(args: argparse.Namespace) -> int:
    sys.stdout.write(
        kyverno.render(
            exempt=args.exempt,
            namespaces=_namespaces(args, None),
            mutate_digest=args.mutate_digest,
            failure_action=args.failure_action,
            name=args.name,
            public_key=_public_key(args.key),
        )
    )
    return 0


def _public_key(path: str | None) -> str | None:
    """The key's PEM text, checked to be a public key first (a private key never goes out)."""
    if path is None:
        return None
    from imgdigest.signatures.keys import load_public_key, public_pem

    return public_pem(load_public_key(path)).decode()
