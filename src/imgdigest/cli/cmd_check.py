"""``imgdigest check``: fail CI when an image has no digest (the Gatekeeper verdict, earlier)."""

from __future__ import annotations

import argparse
import sys

from imgdigest import report as reports
from imgdigest.check import CheckOptions, check_paths, load_constraint
from imgdigest.cli._chart import add_chart_args, chart_mode
from imgdigest.cli._common import PATH, nonblank
from imgdigest.display import count, problem
from imgdigest.documents import FinderOptions, load_config
from imgdigest.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        description="Report every container image without a digest, with the verdicts and "
        "messages of the Gatekeeper K8sImageDigests policy. Exit 0 when clean, 1 on "
        "violations, 2 on usage errors or unreadable input.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or directories; - for stdin")
    p.add_argument(
        "--compat",
        choices=("gatekeeper",),
        help="judge exactly what the Gatekeeper template judges: spec.containers, "
        "spec.initContainers and spec.ephemeralContainers of each object",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="also require a valid reference whose digest is well-formed for its algorithm",
    )
    p.add_argument(
        "--exempt",
        action="append",
        type=nonblank("an image or a prefix ending in *"),
        default=[],
        metavar="PATTERN",
        help="exempt this image: exact, or a prefix when it ends in * (repeatable)",
    )
    p.add_argument(
        "--constraint",
        type=PATH,
        metavar="FILE",
        help="read exemptImages from a K8sImageDigests constraint",
    )
    p.add_argument(
        "--config",
        type=PATH,
        metavar="FILE",
        help="configuration (exemptImages, exclude, custom resource paths)",
    )
    p.add_argument(
        "--exclude",
        action="append",
        type=nonblank("a glob"),
        default=[],
        metavar="GLOB",
        help="skip matching paths (repeatable)",
    )
    p.add_argument(
        "--format", choices=reports.FORMATS, default="text", help="output format (default: text)"
    )
    p.add_argument(
        "--parse-all",
        action="store_true",
        help="parse every YAML document, even those that cannot hold an image (validates them)",
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="ask registries that each digest exists and that its tag still points at it",
    )
    p.add_argument(
        "--key",
        type=PATH,
        metavar="KEY.pub",
        help="with --verify (implied): each digest must also carry a cosign signature this "
        "public key verifies (rule unsigned)",
    )
    p.add_argument(
        "--identity",
        type=nonblank("an image repository"),
        metavar="REPO",
        help="with --key: the signature's docker-reference must be this repository",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no notes and no summary on stderr")
    from imgdigest.cli._common import add_registry_args

    add_chart_args(p)
    add_registry_args(p)
    p.set_defaults(func=run)


def _options(args: argparse.Namespace) -> CheckOptions:
    exempt: list[object] = list(args.exempt)
    exclude = list(args.exclude)
    finder = FinderOptions(parse_all=args.parse_all)
    if args.config:
        config = load_config(args.config)
        exempt.extend(config.exempt_images)
        finder = config.finder_options(finder)
    if args.constraint:
        exempt.extend(load_constraint(args.constraint))
    from dataclasses import replace

    finder = replace(finder, exclude=(*finder.exclude, *exclude))
    if args.paths.count("-") > 1:
        raise UsageError("stdin (-) can be given only once")
    return CheckOptions(
        compat=args.compat,
        strict=args.strict,
        exempt=tuple(exempt),
        verify=args.verify,
        key=args.key,
        identity=args.identity,
        finder=finder,
    )


def run(args: argparse.Namespace) -> int:
    chart = chart_mode(args)
    if args.identity and not args.key:
        raise UsageError("--identity needs --key")
    args.verify = args.verify or bool(args.key)
    options = _options(args)
    verifier = None
    if chart:
        from imgdigest.pin import check_chart

        if args.verify:
            from imgdigest.check import verifier_for
            from imgdigest.cli._common import explained, resolve_options

            with explained(args) as trace:
                verifier = verifier_for(options, resolve_options(args, trace))
                result = check_chart(
                    args.chart,
                    args.values,
                    args.set_values,
                    options,
                    release=args.release,
                    verifier=verifier,
                )
        else:
            result = check_chart(
                args.chart, args.values, args.set_values, options, release=args.release
            )
    elif args.verify:
        from imgdigest.check import verifier_for
        from imgdigest.cli._common import explained, resolve_options

        with explained(args) as trace:
            verifier = verifier_for(options, resolve_options(args, trace))
            result = check_paths(args.paths, options, verifier=verifier)
    elif args.format == "text":
        return _stream_text(args, options)
    else:
        result = check_paths(args.paths, options)
    report = result.to_report()
    if args.format == "text":
        sys.stdout.write(reports.text(report))
        _text_tail(report, len(report.findings), args.quiet)
    else:
        sys.stdout.write(reports.render(report, args.format))
    sys.stdout.flush()
    return result.exit_code


def _stream_text(args: argparse.Namespace, options: CheckOptions) -> int:
    """Each file's findings printed as soon as it is read: memory stays flat however many
    there are (the other formats are one document of them all)."""
    from imgdigest.check import CheckReport, check_files

    seen = CheckReport()  # files, counts, notes and errors; no findings
    found = 0
    for part in check_files(args.paths, options):
        if part.violations:
            findings = [v.finding() for v in part.violations]
            sys.stdout.write(reports.text(reports.Report("check", findings=findings)))
            found += len(findings)
        seen.files.extend(part.files)
        seen.images += part.images
        seen.notes.extend(part.notes)
        seen.errors.extend(part.errors)
    _text_tail(seen.to_report(), found, args.quiet)
    sys.stdout.flush()
    return 2 if seen.errors else 1 if found else 0


def _text_tail(report: reports.Report, violations: int, quiet: bool) -> None:
    """Errors, then (unless ``quiet``) notes and the one-line summary, on stderr."""
    for error in report.errors:
        print(problem("error", f"{error.where()}: {error.message}"), file=sys.stderr)
    if quiet:
        return
    for note in report.notes:
        print(problem("note", f"{note.where()}: {note.message}"), file=sys.stderr)
    s = report.summary
    print(
        f"imgdigest check: {count(s['images'], 'image')} in "
        f"{count(s['files'], 'file')}, {count(violations, 'violation')}"
        + (f", {s['errors']} unreadable" if s["errors"] else ""),
        file=sys.stderr,
    )
