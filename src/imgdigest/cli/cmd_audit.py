"""``imgdigest audit``: the digests a cluster runs, per workload, from kubectl's JSON."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from imgdigest.cli._common import add_registry_args, explained, resolve_options, warn
from imgdigest.display import count, problem, safe

if TYPE_CHECKING:
    from imgdigest.audit import AuditReport


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit",
        description="Read the JSON of `kubectl get pods -A -o json` (and optionally of "
        "`kubectl get deploy,sts,ds,rs,job,cronjob -A -o json`), group pods by workload and "
        "report each container's running digests with the findings mixed, unpinned, stale, "
        "mismatch and not-running. Exit 1 when anything is found. Asks no cluster anything.",
    )
    p.add_argument("paths", nargs="+", metavar="FILE", help="kubectl JSON output; - for stdin")
    p.add_argument("--offline", action="store_true", help="ask no registry (no stale check)")
    p.add_argument(
        "--lock",
        metavar="FILE",
        help="with --offline: judge stale against this lock file's digests, and tell an "
        "index's platform manifests by its children (imgdigest lock writes one)",
    )
    p.add_argument(
        "--resolve",
        action="store_true",
        help="also show each running digest's index and platform manifests",
    )
    p.add_argument("--format", choices=("text", "json", "html"), default="text")
    p.add_argument(
        "--fix",
        action="store_true",
        help="print what converges each workload on one digest instead of the report; "
        "nothing is applied",
    )
    p.add_argument(
        "--fix-as",
        choices=("patch", "kustomize"),
        help="what --fix prints (and implies it): strategic-merge patches, one per workload "
        "(the default), or a kustomization images: block",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no notes or summary on stderr")
    add_registry_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imgdigest.audit import AuditOptions, audit_paths
    from imgdigest.errors import UsageError

    if args.paths.count("-") > 1:
        raise UsageError("- (stdin) can be named only once")
    if args.offline and args.resolve:
        raise UsageError("--resolve asks the registry: it cannot be combined with --offline")
    lock = None
    if args.lock:
        if not args.offline:
            raise UsageError("--lock answers for the registry: use it with --offline")
        from imgdigest.lock import read_lock

        lock = read_lock(args.lock)
    options = AuditOptions(offline=args.offline, resolve=args.resolve, lock=lock)
    with explained(args) as trace:
        ropts = None if args.offline else resolve_options(args, trace)
        report = audit_paths(args.paths, ropts, options)
    if args.fix or args.fix_as:
        fix = report.fix_kustomize() if args.fix_as == "kustomize" else report.fix_patch()
        sys.stdout.write(fix)
    elif args.format == "json":
        _write_json(report.to_json())
    elif args.format == "html":
        sys.stdout.write(report.to_html())
    else:
        _print_text(report)
    for failure in report.failures:
        print(problem("error", str(failure)), file=sys.stderr)
    if not args.quiet:
        for note in report.notes:
            print(problem("note", note), file=sys.stderr)
        s = report.summary()
        warn(
            f"{count(s['pods'], 'pod')} in {count(s['workloads'], 'workload')}: "
            f"{s['mixed']} mixed, "
            f"{s['unpinned']} unpinned, {s['stale']} stale, {s['mismatch']} mismatch, "
            f"{s['not-running']} not running"
            + (
                " (offline: stale judged against the lock file)"
                if report.lock
                else " (offline: stale not checked)"
                if report.offline
                else ""
            )
        )
    return report.exit_code


def _write_json(doc: object) -> None:
    """``json.dumps(doc, indent=2)`` written in 64 kB pieces: a large cluster's report is
    never held twice (the dict and its text)."""
    buffer: list[str] = []
    size = 0
    for chunk in json.JSONEncoder(indent=2).iterencode(doc):
        buffer.append(chunk)
        size += len(chunk)
        if size >= 1 << 16:
            sys.stdout.write("".join(buffer))
            buffer, size = [], 0
    buffer.append("\n")
    sys.stdout.write("".join(buffer))


def _print_text(report: AuditReport) -> None:
    for w in report.workloads:
        print(safe(f"{w.namespace}/{w.kind}/{w.name} ({count(w.pods, 'pod')})"))
        for c in w.containers:
            role = "" if c.role == "container" else f" ({c.role})"
            spec = ", ".join(c.spec) or "?"
            print(safe(f"  {c.name}{role}: {spec}"))
            for r in c.running:
                what = r.digest or ""
                if r.kind == "image-id":
                    what += " (image ID: manifest digest unknown)"
                elif r.kind == "none":
                    what = "(no image reported)"
                elif r.kind == "unreadable":
                    what = "(imageID in an unknown form)"
                print(safe(f"    {what}  {count(r.pods, 'pod')}"))
                if r.tree is not None:
                    print(safe(f"      {r.tree.kind} {r.tree.digest}"))
                    for ch in r.tree.children:
                        label = "attestation" if ch.attestation else _platform(ch.platform)
                        print(safe(f"        {label} {ch.digest}"))
            for f in c.findings:
                print(safe(f"    {f.problem}: {f.detail}"))


def _platform(platform: object) -> str:
    from imgdigest.platform import format_all

    return format_all(platform) if platform is not None else "?"  # type: ignore[arg-type]
