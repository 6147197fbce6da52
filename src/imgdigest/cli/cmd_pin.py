"""``imgdigest pin``: rewrite image references in files from tags to digests.

Without ``--write`` it shows a unified diff and changes nothing; ``-`` filters stdin to
stdout. The file-selection flags it shares with ``drift`` and ``lock`` live in
:mod:`imgdigest.cli._files`, so the three commands see the same files.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from imgdigest.cli._chart import add_chart_args, chart_mode
from imgdigest.cli._common import (
    PATH,
    add_registry_args,
    add_verify_arg,
    explained,
    platform_spec,
    resolve_options,
    warn,
)
from imgdigest.cli._files import add_file_args, check_paths, finder_options, run_drift
from imgdigest.display import count, problem, safe
from imgdigest.documents import STDIN
from imgdigest.errors import UsageError
from imgdigest.lock import read_lock
from imgdigest.pin import ChartPlan, PinOptions, PinPlan, Progress, pin_chart, plan_paths

# Progress is worth showing only when this many references are asked for.
PROGRESS_MIN = 20


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pin",
        description="Rewrite each image reference in Kubernetes manifests, kustomizations, "
        "Helm values, Dockerfiles, Compose files and GitHub workflows to name:tag@digest, "
        "changing no other byte. With --chart, render a Helm chart and pin the values its "
        "images come from. Shows a diff unless --write. A run in which any reference fails "
        "writes nothing.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or directories; - for stdin")
    p.add_argument("-w", "--write", action="store_true", help="edit the files in place")
    p.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if anything is unpinned or drifted (same as drift)",
    )
    p.add_argument("--drop-tag", action="store_true", help="write name@digest, without the tag")
    p.add_argument(
        "--update",
        action="store_true",
        help="re-resolve existing pins and replace digests whose tag has moved",
    )
    p.add_argument(
        "--platform",
        type=platform_spec(),
        metavar="OS/ARCH[/VARIANT]",
        help="pin this platform's manifest instead of the multi-platform index",
    )
    p.add_argument(
        "--lock",
        type=PATH,
        action="append",
        default=[],
        metavar="FILE",
        help="take digests from a lock file, name@digest lines or buildx metadata (repeatable)",
    )
    p.add_argument("--offline", action="store_true", help="never contact a registry (needs --lock)")
    p.add_argument(
        "--partial", action="store_true", help="write what could be pinned even if some failed"
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("-q", "--quiet", action="store_true", help="no notes or summary on stderr")
    p.add_argument("--no-progress", action="store_true", help="no progress line on a terminal")
    add_file_args(p)
    add_chart_args(p)
    add_verify_arg(p)
    add_registry_args(p)
    p.set_defaults(func=run)


@contextmanager
def terminated_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so staged temporary files are removed.

    It is passed on as SIGINT rather than raised here: while requests are in flight,
    asyncio's own SIGINT handling cancels them in order; outside the event loop SIGINT
    raises ``KeyboardInterrupt`` as usual. Where SIGINT is ignored (a background job of a
    script inherits it so), SIGTERM must still stop the run: it raises at once, and
    ``asyncio.run`` cancels the tasks in flight on its way out.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        if not callable(signal.getsignal(signal.SIGINT)):
            raise KeyboardInterrupt
        signal.raise_signal(signal.SIGINT)

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def progress_line(args: argparse.Namespace) -> Progress | None:
    if args.quiet or args.no_progress or args.format != "text" or not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        if total < PROGRESS_MIN:
            return
        end = "\n" if done >= total else ""
        print(f"\rresolving {done}/{total} references", end=end, file=sys.stderr, flush=True)

    return show


def report_problems(plan: PinPlan, quiet: bool) -> None:
    for error in plan.errors:
        print(problem("error", str(error)), file=sys.stderr)
    for failure in plan.failures:
        print(safe(str(failure)), file=sys.stderr)
    if not quiet:
        for note in plan.notes:
            print(problem("note", str(note)), file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    chart = chart_mode(args)
    check_paths(args.paths)
    if args.check:
        if chart:
            raise UsageError("--check does not take --chart: imgdigest check --chart does that")
        return run_drift(args)
    if args.offline and not args.lock:
        raise UsageError("--offline needs --lock FILE: there is nowhere else to find digests")
    options = PinOptions(
        keep_tag=not args.drop_tag,
        update=args.update,
        platform=args.platform,
        lock=read_lock(args.lock) if args.lock else None,
        offline=args.offline,
    )
    finder = finder_options(args)
    result: ChartPlan | None = None
    with explained(args) as trace, terminated_as_interrupt():
        if chart:
            result = pin_chart(
                args.chart,
                args.values,
                args.set_values,
                options,
                None if args.offline else resolve_options(args, trace),
                release=args.release,
            )
            plan = result.plan
        else:
            plan = plan_paths(
                args.paths,
                options,
                None if args.offline else resolve_options(args, trace),
                finder=finder,
                progress=progress_line(args),
            )
        report_problems(plan, args.quiet)
        blocked = bool(plan.failures) and not args.partial
        if args.paths == [STDIN]:
            if not blocked and plan.files and plan.files[0].new_text is not None:
                sys.stdout.flush()  # the bytes go out in the input's own encoding
                sys.stdout.buffer.write(plan.files[0].new_text.encode(plan.files[0].scan.encoding))
            return plan.exit_code
        written: list[str] = []
        if args.write and not blocked:
            written = plan.write(partial=args.partial)
    if args.format == "json":
        obj = result.to_json() if result is not None else plan.to_json()
        obj["written"] = written
        print(json.dumps(obj, indent=2))
    elif not args.write:
        for fp in plan.files:
            sys.stdout.write(fp.diff())
    if not args.quiet and args.format == "text":
        warn(_summary(plan, args.write, blocked, args.partial))
    return plan.exit_code


def _counted(refs: int, files: int) -> str:
    return f"{count(refs, 'reference')} in {count(files, 'file')}"


def _summary(plan: PinPlan, write: bool, blocked: bool, partial: bool) -> str:
    """One line saying what changed on disk, never more than did (``--partial`` keeps a
    file with a failed reference whole, so its resolved references are not pinned)."""
    s = plan.summary()
    what = _counted(s["references_changed"], s["files_changed"])
    tail = f" ({s['unique_references']} unique, {s['from_lock']} from lock"
    tail += f", {s['failures']} failed)" if s["failures"] else ")"
    if blocked:
        failed = count(s["failures"], "reference")
        return f"nothing written: {failed} failed; {what} would change" + tail
    if not write:
        return f"{what} would change" + tail
    written = plan.writable(partial)
    refs = sum(len(fp.changes) for fp in written)
    line = f"pinned {_counted(refs, len(written))}"
    held_refs, held_files = s["references_changed"] - refs, s["files_changed"] - len(written)
    if held_files:
        line += (
            f"; left {_counted(held_refs, held_files)} unchanged, "
            "as each also holds a reference that failed or an error"
        )
    return line + tail
