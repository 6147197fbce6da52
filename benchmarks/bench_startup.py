"""Start-up: wall time of offline commands, this tree against an earlier revision, in one run.

Each command runs as a new process (as a user or a CI step runs it), alternating between
the two trees, and the median of ``--runs`` runs is reported next to ``python -c pass``,
the floor no Python program can beat. The earlier revision is checked out with
``git worktree`` into ``benchmarks/.work`` and run from its own ``src`` on the same venv.
Each run's exit code is checked, so a crash cannot pass for a fast start.

Bytecode is written and used, as it is for an installed package (pip compiles on install):
``PYTHONDONTWRITEBYTECODE`` is dropped for the children and one untimed run per command
and tree comes first, so compiling the sources is not counted as start-up.

``digest`` of a registry on a closed loopback port measures a network command up to its
first connection attempt: start-up, the HTTP client's import, and one refused connect.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work"

COMMANDS: list[tuple[str, list[str], int]] = [
    ("--help", ["--help"], 0),
    ("ref nginx", ["ref", "nginx"], 0),
    ("policy gatekeeper", ["policy", "gatekeeper"], 0),
    ("check empty.yaml", ["check", "{empty}"], 0),
    ("pin --offline --lock (1 image)", ["pin", "--offline", "--lock", "{lock}", "{pod}"], 0),
    ("digest 127.0.0.1:9/x:1 (to the first request)", ["digest", "127.0.0.1:9/x:1"], 5),
]


def checkout(rev: str) -> Path:
    tree = WORK / f"startup-{rev}"
    if not tree.exists():
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(tree), rev],
            check=True,
            capture_output=True,
        )
    return tree


def timed(src: Path, argv: list[str], want: int) -> float:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(src)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "imgdigest", *argv], env=env, capture_output=True
    )
    elapsed = time.perf_counter() - start
    if done.returncode != want:
        raise SystemExit(f"{argv}: exit {done.returncode}: {done.stderr.decode()[-300:]}")
    return elapsed


def floor(runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fixtures() -> dict[str, str]:
    WORK.mkdir(parents=True, exist_ok=True)
    empty = WORK / "empty.yaml"
    empty.write_text("")
    pod = WORK / "pod.yaml"
    pod.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
                   "  containers:\n  - name: a\n    image: nginx:1.25\n")
    lock = WORK / "images.lock"
    digest = "sha256:" + "ab" * 32
    lock.write_text(
        '{"imgdigest-lock": 1, "images": [{"reference": "docker.io/library/nginx:1.25",'
        f' "digest": "{digest}"}}]}}\n'
    )
    return {"empty": str(empty), "pod": str(pod), "lock": str(lock)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--before", default="b3d5bef", help="the revision to compare with")
    args = parser.parse_args(argv)
    files = fixtures()
    trees = {"before": checkout(args.before) / "src", "now": ROOT / "src"}
    print(f"python -c pass: {floor(args.runs) * 1000:.0f} ms (median of {args.runs})")
    print(f"| command | {args.before} | now | now / before |")
    print("| --- | --- | --- | --- |")
    for label, template, want in COMMANDS:
        command = [part.format(**files) for part in template]
        times: dict[str, list[float]] = {"before": [], "now": []}
        for src in trees.values():  # untimed: writes the bytecode, as an install would
            with contextlib.suppress(SystemExit):
                timed(src, command, want)
        for _ in range(args.runs):
            for name, src in trees.items():
                try:
                    times[name].append(timed(src, command, want))
                except SystemExit as exc:
                    if name == "now":
                        raise
                    print(f"  ({args.before} cannot run {label}: {exc})", file=sys.stderr)
                    break
        before = statistics.median(times["before"]) if times["before"] else float("nan")
        now = statistics.median(times["now"])
        print(f"| `{label}` | {before * 1000:.0f} ms | {now * 1000:.0f} ms | {now / before:.2f}× |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
