"""``imgdigest digest`` against plain-HTTP registries: what a scheme probe costs.

Three cases, each one fresh ``imgdigest digest`` process per run (medians of several):

* (a) a plain-HTTP loopback registry, no flags: the first run must find the scheme;
  later runs may reuse what an earlier run learnt (the cache directory is kept per side);
* (b) the same registry declared ``--insecure HOST``;
* (c) a port where nothing listens (exit 5 expected).

and, for scale, ``imgdigest ref`` (offline: interpreter start and imports, no network).
"Before" runs another source tree (``--before SRC``, e.g. a ``git worktree`` of an older
commit); "after" is this checkout. Runs of the two sides alternate, so load on the shared
machine hits both alike.

Usage: python -m benchmarks.bench_plainhttp [--runs N] [--before /tmp/before/src]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.harness import RegistryServer, free_port, push_image

SRC = Path(__file__).resolve().parent.parent / "src"

# The registry part alone: the HTTP client imported first (both sides pay that the same), then one
# resolver, as the CLI builds it, finds the registry's scheme (the ping). Prints seconds.
PING = r"""
import asyncio, sys, time
import imgdigest.registry.http  # noqa: F401
from imgdigest.errors import NetworkError
from imgdigest.registry.options import RegistryOptions
from imgdigest.resolver import AsyncResolver, ResolveOptions
host, insecure, cache_dir = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
async def main() -> None:
    reg = RegistryOptions(insecure=(host,) if insecure else ())
    async with AsyncResolver(ResolveOptions(registry=reg, cache_dir=cache_dir)) as r:
        started = time.perf_counter()
        try:
            await r.transport.ping(host)
        except NetworkError:
            pass
        print(time.perf_counter() - started)
asyncio.run(main())
"""


def timed(cmd: list[str], env: dict[str, str], expect: int) -> float:
    """Wall seconds of one child process; fails loudly on an unexpected exit code."""
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != expect:
        raise SystemExit(
            f"benchmark command exited {proc.returncode}, expected {expect}: {cmd[3:]}\n"
            f"{proc.stderr[-2000:]}"
        )
    return elapsed


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--before", metavar="SRC", help="source tree of the code to compare with")
    args = ap.parse_args(argv)
    sides = {"after": str(SRC)}
    if args.before:
        sides = {"before": args.before, **sides}
    with tempfile.TemporaryDirectory(prefix="bench-plainhttp-") as tmp, RegistryServer(
        "http", workdir=tmp
    ) as registry:
        img = push_image(registry, "bench/plain", "v1")
        ref = f"{registry.host}/bench/plain:v1"
        refused = f"127.0.0.1:{free_port()}"
        cases = {
            "(a) plain-HTTP loopback registry": (["digest", ref], 0),
            "(b) same, --insecure HOST": (["digest", "--insecure", registry.host, ref], 0),
            "(c) refused port": (["digest", f"{refused}/a/b:1"], 5),
            "offline floor (`imgdigest ref`)": (["ref", ref], 0),
        }
        envs = {}
        for side, src in sides.items():
            home = Path(tmp) / side
            (home / ".docker").mkdir(parents=True)
            envs[side] = {
                **os.environ,
                "PYTHONPATH": src,
                "HOME": str(home),
                "DOCKER_CONFIG": str(home / ".docker"),
                "XDG_CACHE_HOME": str(home / ".cache"),
            }
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.runs):
            for name, (cmd_args, expect) in cases.items():
                for side in sides:
                    cmd = [sys.executable, "-m", "imgdigest", *cmd_args]
                    times.setdefault((name, side), []).append(timed(cmd, envs[side], expect))
        pings: dict[tuple[str, str], list[float]] = {}
        ping_cases = {
            "(a) plain-HTTP loopback registry": (registry.host, "0"),
            "(b) same, --insecure HOST": (registry.host, "1"),
            "(c) refused port": (refused, "0"),
        }
        for _ in range(args.runs):
            for name, (host, insecure) in ping_cases.items():
                for side in sides:
                    cache = str(Path(envs[side]["XDG_CACHE_HOME"]) / "ping")
                    cmd = [sys.executable, "-c", PING, host, insecure, cache]
                    out = subprocess.run(
                        cmd, capture_output=True, text=True, env=envs[side], check=True
                    ).stdout
                    pings.setdefault((name, side), []).append(float(out))
        assert img.digest
    # Median and fastest run: on a shared machine the fastest is the least disturbed.
    head = "| case | " + " | ".join(f"{s} median / min (s)" for s in sides)
    print(head + (" | change of medians |" if len(sides) == 2 else " |"))
    print("|" + " --- |" * (len(sides) + 1 + (len(sides) == 2)))
    for name in cases:
        runs = [times[(name, s)] for s in sides]
        medians = [statistics.median(r) for r in runs]
        row = f"| {name} | " + " | ".join(
            f"{m:.3f} / {min(r):.3f}" for m, r in zip(medians, runs, strict=True)
        )
        row += f" | {medians[-1] - medians[0]:+.3f} s |" if len(sides) == 2 else " |"
        print(row)
    print("\nThe ping alone (finding the scheme; HTTP client imported), median / min (ms):\n")
    print("| case | " + " | ".join(sides) + " |")
    print("|" + " --- |" * (len(sides) + 1))
    for name in ping_cases:
        runs = [pings[(name, s)] for s in sides]
        print(
            f"| {name} | "
            + " | ".join(f"{statistics.median(r) * 1e3:.1f} / {min(r) * 1e3:.1f}" for r in runs)
            + " |"
        )
    first = {s: times[("(a) plain-HTTP loopback registry", s)][0] for s in sides}
    print(
        "\nfirst run of (a), before any scheme was remembered: "
        + ", ".join(f"{s} {t:.3f} s" for s, t in first.items())
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
