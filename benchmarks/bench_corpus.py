"""``check`` and ``pin --offline`` of big corpora: time against libyaml, peak RSS as it grows.

For each corpus size (``benchmarks.corpus``, generated into a temporary directory: 50, 100
and 200 MB, or 5, 10 and 20 MB with ``--quick``) four commands run as child processes,
interleaved round by round so all meet the same machine load:

* ``libyaml`` - ``yaml.load_all(..., CSafeLoader)`` of every file in one process (the peer);
* ``check`` - ``imgdigest check -q DIR``;
* ``pin`` - ``imgdigest pin --offline --lock L -q DIR``, the diff to a file;
* ``pin --write`` - the same with ``--write``, on a fresh copy of the corpus each round.

Every output is checked against what the generator wrote, never against imgdigest's own
answers: libyaml's document count; one ``check`` finding per image field; in the diff, as
many removed lines as image fields, each added line its removed line with the digest the
lock gives (the lock is made here: a hash of each reference); after ``--write``, every file
equal to its original once those digests are taken out, each digest the right one for the
reference before it, and as many as there are image fields.

Reported: medians of wall time and of CPU time (user + system, steadier on a shared
machine), each as a multiple of libyaml's, and the highest peak RSS (``wait4``).

Usage: python -m benchmarks.bench_corpus [--quick] [--runs N] [--sizes 50,100,200] [--readme]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.corpus import DOCS_PER_FILE, Corpus, generate, image_names

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
README = HERE / "README.md"
SECTION = "## pin and check of big corpora (memory and time)"
#: Documents per nominal MB: 50 is the dense corpus itself (20,000 documents, 51 MB).
DOCS_PER_MB = 20_000 / 50
REF = re.compile(r"localhost:5000/bench/app\d{3}:v\d+")
PINNED = re.compile(r"(localhost:5000/bench/app\d{3}:v\d+)@(sha256:[0-9a-f]{64})")


def digest_of(ref: str) -> str:
    """The digest the benchmark's lock gives ``ref``."""
    return "sha256:" + hashlib.sha256(ref.encode()).hexdigest()


@dataclass
class Timing:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss_mb: float = 0.0


# A small fresh interpreter forks the command and reports on it. Linux carries the peak RSS
# of the process that forks (or vforks) a child into the child's own, across exec: measured
# straight from this process, every command would look at least as big as this driver.
_LAUNCH = r"""
import os, sys, time
out, *cmd = sys.argv[1:]
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.dup2(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 1)
    os.execvp(cmd[0], cmd)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
print(os.waitstatus_to_exitcode(status), wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)
"""


def run(cmd: list[str], stdout: Path, want_exit: int) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one child; its exit code must be
    ``want_exit``."""
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCH, str(stdout), *cmd],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    code, wall, cpu, kib = done.stdout.split()
    if int(code) != want_exit:
        raise SystemExit(f"exit {code}, not {want_exit}: {' '.join(cmd)}\n{done.stderr[-2000:]}")
    return float(wall), float(cpu), int(kib) / 1024


def check_libyaml(out: Path, corpus: Corpus) -> None:
    assert int(out.read_text()) == corpus.documents, "libyaml read another number of documents"


def check_findings(out: Path, corpus: Corpus) -> None:
    with open(out) as f:
        found = sum(1 for line in f if "uses an image without a digest" in line)
    assert found == corpus.values, f"check: {found} findings for {corpus.values} image fields"


def check_diff(out: Path, corpus: Corpus) -> None:
    removed: list[str] = []
    added = 0
    with open(out) as f:
        for line in f:
            if line.startswith(("---", "+++")):
                continue
            if line.startswith("-"):
                removed.append(line[1:])
            elif line.startswith("+"):
                old = removed[added]
                ref = REF.search(old)
                assert ref is not None, f"a removed line names no image: {old!r}"
                want = old[: ref.end()] + "@" + digest_of(ref.group()) + old[ref.end() :]
                assert line[1:] == want, f"added {line[1:]!r} for {old!r}"
                added += 1
    assert len(removed) == added == corpus.values, (
        f"diff: -{len(removed)} +{added} for {corpus.values} image fields"
    )


def check_written(copy: Path, corpus: Corpus) -> None:
    pins = 0
    for original in corpus.files:
        new = (copy / original.relative_to(corpus.root)).read_text()
        for m in PINNED.finditer(new):
            assert m.group(2) == digest_of(m.group(1)), f"wrong digest for {m.group(1)}"
            pins += 1
        assert PINNED.sub(r"\1", new) == original.read_text(), f"{original.name}: more changed"
    assert pins == corpus.values, f"--write pinned {pins} of {corpus.values} image fields"


def measure_size(
    label: str, corpus: Corpus, lock: Path, work: Path, runs: int
) -> list[tuple[str, str, Timing]]:
    python = sys.executable
    imgdigest = [python, "-m", "imgdigest"]
    copy = work / "copy"
    pin = [*imgdigest, "pin", "--offline", "--lock", str(lock), "-q"]
    commands: dict[str, tuple[list[str], int, Callable[[Path, Corpus], None] | None]] = {
        "libyaml load (CSafeLoader)": (
            [python, "-m", "benchmarks.bench_check", "--libyaml-only", str(corpus.root)],
            0,
            check_libyaml,
        ),
        "`imgdigest check -q`": ([*imgdigest, "check", "-q", str(corpus.root)], 1, check_findings),
        "`imgdigest pin` (dry run, diff)": ([*pin, str(corpus.root)], 0, check_diff),
        "`imgdigest pin --write`": ([*pin, "--write", str(copy)], 0, None),
    }
    timings = {name: Timing() for name in commands}
    out = work / "stdout"
    for round_ in range(runs):
        for name, (cmd, want_exit, verify) in commands.items():
            if "--write" in cmd:
                shutil.rmtree(copy, ignore_errors=True)
                shutil.copytree(corpus.root, copy)
            wall, cpu, rss = run(cmd, out, want_exit)
            t = timings[name]
            t.wall.append(wall)
            t.cpu.append(cpu)
            t.rss_mb = max(t.rss_mb, rss)
            if round_ == 0:  # the output is the same every round
                if verify is not None:
                    verify(out, corpus)
                else:
                    check_written(copy, corpus)
            print(f"  {label} {name}: {wall:.2f} s wall, {cpu:.2f} s CPU, {rss:.0f} MB", flush=True)
    return [(label, name, timings[name]) for name in commands]


def table(rows: list[tuple[str, str, Timing]]) -> str:
    out = [
        "| corpus | command | median wall (s) | × libyaml | median CPU (s) | × libyaml "
        "| peak RSS (MB) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    base: dict[str, tuple[float, float]] = {}
    for label, name, t in rows:
        wall, cpu = statistics.median(t.wall), statistics.median(t.cpu)
        bw, bc = base.setdefault(label, (wall, cpu))
        out.append(
            f"| {label} | {name} | {wall:.2f} | {wall / bw:.2f} | {cpu:.2f} | {cpu / bc:.2f} "
            f"| {t.rss_mb:.0f} |"
        )
    return "\n".join(out)


def write_readme(result: str) -> None:
    """Put ``result`` in place of the table of this benchmark's section of README.md (the
    prose around it, which says what the figures mean, is left to be read again)."""
    text = README.read_text()
    at = text.find(f"\n{SECTION}\n")
    first = text.find("\n| corpus | command", at)
    if at == -1 or first == -1:
        raise SystemExit(f"no {SECTION!r} table in {README}: add the section by hand first")
    last = first + 1
    while text.startswith("|", last):
        last = text.index("\n", last) + 1
    README.write_text(text[: first + 1] + result + "\n" + text[last:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5, 10 and 20 MB corpora")
    parser.add_argument("--sizes", help="corpus sizes in MB, comma-separated (50,100,200)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--readme", action="store_true", help="put the table in its README.md section"
    )
    parser.add_argument("--work", type=Path, help="where to generate (default: a temp dir)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in (args.sizes or ("5,10,20" if args.quick else "50,100,200")).split(",")]
    work = Path(tempfile.mkdtemp(prefix="imgdigest-bench-corpus-", dir=args.work))
    print(f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    try:
        lock = work / "images.lock"
        refs = [f"localhost:5000/{name}" for name in image_names()]
        lock.write_text("".join(f"{ref}@{digest_of(ref)}\n" for ref in refs))
        rows: list[tuple[str, str, Timing]] = []
        for size in sizes:
            docs = max(DOCS_PER_FILE, round(size * DOCS_PER_MB / DOCS_PER_FILE) * DOCS_PER_FILE)
            corpus = generate(work / f"corpus-{size}", docs)
            label = f"{corpus.bytes / 1e6:.0f} MB, {docs:,} docs, {corpus.values:,} images"
            print(f"{label}: {len(corpus.files)} files", flush=True)
            rows += measure_size(label, corpus, lock, work, args.runs)
            shutil.rmtree(corpus.root)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = table(rows)
    print(result)
    if args.readme:
        write_readme(result)
        print(
            f"wrote the table of {SECTION!r} in {README.relative_to(ROOT)}; load average now "
            f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}: update the prose around it"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
