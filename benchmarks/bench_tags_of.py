"""``tags-of`` on a repository of 2,000 tags, on a registry whose tag list has no digests.

distribution 2.8 sends only tag names, so both sides must ask for every tag:

* ``imgdigest tags-of NAME@DIGEST``: one process, HEADs concurrently over shared
  connections, each distinct index fetched once;
* a shell loop of Debian's ``skopeo inspect --raw`` over the tags, comparing each
  manifest's sha256 with the digest (what one writes without tags-of). ``--raw`` is
  skopeo's cheapest form: one manifest GET per tag, no config. The loop runs over a
  sample of the tags and is extrapolated, since 2,000 processes take minutes.

Both run directly against the registry and through a proxy adding 20 ms to every
response. Requests are counted at the registry (or proxy); the digest looked for is a
platform manifest reachable only through the index that half of the tags name.

Usage: python -m benchmarks.bench_tags_of [--tags N] [--sample N] [--latency-ms MS]
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.explore.helpers import tag_on_disk
from tests.harness import FaultProxy, RegistryServer, push_image, push_index

REPO = "bench/many-tags"


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed: {shlex.join(cmd[:6])}\n{proc.stderr[-2000:]}")
    return elapsed, proc.stdout


def skopeo_loop(host: str, tags: list[str], digest: str, env: dict[str, str]) -> tuple[float, int]:
    script = (
        'for t in "$@"; do '
        f'd=$(skopeo inspect --raw --tls-verify=false "docker://{host}/{REPO}:$t" | sha256sum); '
        f'[ "sha256:${{d%% *}}" = "{digest}" ] && echo "$t"; '
        "done; true"
    )
    elapsed, out = run(["bash", "-c", script, "loop", *tags], env)
    return elapsed, len(out.split())


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tags", type=int, default=2000)
    ap.add_argument("--sample", type=int, default=100, help="tags the skopeo loop is timed on")
    ap.add_argument("--latency-ms", type=float, default=20.0)
    args = ap.parse_args(argv)
    if not shutil.which("skopeo"):
        raise SystemExit("skopeo is missing: run `make bench`, which installs it")
    with tempfile.TemporaryDirectory(prefix="imgdigest-bench-") as tmp:
        env = {**os.environ, "HOME": tmp, "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
        (Path(tmp) / "registry").mkdir()
        with RegistryServer("http", workdir=Path(tmp) / "registry") as reg:
            idx = push_index(reg, REPO, "multi-0", attestations=False)
            solo = push_image(reg, REPO, "solo-0")
            half = args.tags // 2
            tag_on_disk(reg, REPO, idx.digest, [f"multi-{i}" for i in range(1, half)])
            tag_on_disk(reg, REPO, solo.digest, [f"solo-{i}" for i in range(1, args.tags - half)])
            tags = [f"multi-{i}" for i in range(half)] + [
                f"solo-{i}" for i in range(args.tags - half)
            ]
            target = idx.child("linux", "arm64", "v8").digest
            print(f"{len(tags)} tags; looking for {target} (a child of the index {half} tags name)")
            proxy = FaultProxy(reg).start()
            proxy.delay(args.latency_ms)
            try:
                rows = []
                for label, host, counter in (
                    ("direct", reg.host, "registry"),
                    (f"+{args.latency_ms:g} ms", proxy.host, "proxy"),
                ):
                    reg.reset_count()
                    proxy.reset_counts()
                    cmd = [sys.executable, "-m", "imgdigest", "tags-of", "--no-cache", "-q"]
                    wall, out = run([*cmd, f"{host}/{REPO}@{target}"], env)
                    found = len(out.split("\n")) - 1
                    requests = reg.request_count() if counter == "registry" else proxy.count()
                    assert found == half, f"imgdigest found {found} tags, expected {half}"
                    rows.append((label, "imgdigest tags-of", wall, requests))
                    reg.reset_count()
                    proxy.reset_counts()
                    sample = tags[:: max(1, len(tags) // args.sample)][: args.sample]
                    swall, _ = skopeo_loop(host, sample, target, env)
                    sreq = reg.request_count() if counter == "registry" else proxy.count()
                    factor = len(tags) / len(sample)
                    rows.append(
                        (label, f"skopeo inspect loop (x{factor:g})", swall * factor, sreq * factor)
                    )
            finally:
                proxy.stop()
    print(f"{'path':<10} {'tool':<32} {'wall s':>8} {'requests':>9}")
    for label, tool, wall, requests in rows:
        print(f"{label:<10} {tool:<32} {wall:>8.2f} {requests:>9.0f}")
    print("note: the skopeo loop compares only direct digests; it cannot see the index child")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
