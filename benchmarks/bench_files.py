"""``files`` on a 200 MB gzip layer: imgdigest against ``curl … | tar -tz``.

The layer holds 20,000 files of 10 kB of random bytes (so it stays about 200 MB once
compressed) and is pushed to a local registry. Both sides list its paths from the
registry: ``imgdigest files REF --layer 0`` streams, decompresses, parses and verifies
in one process; ``curl -s URL | tar -tz`` splits download and gunzip over two
processes (and verifies nothing). Reported: wall time (median of the runs) and peak
RSS. Targets: within 1.3x of curl|tar, under 100 MB of RSS.

Usage: python -m benchmarks.bench_files [--files N] [--size BYTES] [--runs N]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from tests.harness import RegistryClient, RegistryServer
from tests.harness.images import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, push_blob, push_manifest

REPO = "bench/big-layer"


def layer(files: int, size: int) -> tuple[bytes, str]:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for i in range(files):
            info = tarfile.TarInfo(f"data/{i // 1000:03d}/file-{i:06d}.bin")
            info.size = size
            tar.addfile(info, io.BytesIO(os.urandom(size)))  # random: does not compress
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, compresslevel=1), hashlib.sha256(tar_bytes).hexdigest()


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Wall seconds, peak RSS (KiB) of the largest process in the tree, output lines.

    GNU time measures it: a child forked from this (large) benchmark process would
    otherwise report the parent's memory as its own peak.
    """
    with tempfile.NamedTemporaryFile("r") as report:
        timed = ["/usr/bin/time", "-o", report.name, "-f", "%e %M", *cmd]
        started = time.perf_counter()
        proc = subprocess.run(timed, capture_output=True, env=env, check=False)
        elapsed = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"benchmark command failed: {cmd[:4]}\n{proc.stderr[-2000:]!r}")
        _, rss = report.read().split()
    return elapsed, int(rss), proc.stdout.count(b"\n")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="imgdigest-bench-") as tmp:
        env = {**os.environ, "HOME": tmp, "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
        (Path(tmp) / "registry").mkdir()
        with RegistryServer("http", workdir=Path(tmp) / "registry") as reg:
            blob, diff_id = layer(args.files, args.size)
            config = json.dumps(
                {
                    "architecture": "amd64",
                    "os": "linux",
                    "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
                }
            ).encode()
            with RegistryClient(reg) as c:
                layer_digest = push_blob(c, REPO, blob, chunk_size=64 * 1024 * 1024)
                config_digest = push_blob(c, REPO, config)
                manifest = json.dumps(
                    {
                        "schemaVersion": 2,
                        "mediaType": OCI_MANIFEST,
                        "config": {
                            "mediaType": OCI_CONFIG,
                            "digest": config_digest,
                            "size": len(config),
                        },
                        "layers": [
                            {"mediaType": OCI_LAYER, "digest": layer_digest, "size": len(blob)}
                        ],
                    }
                ).encode()
                push_manifest(c, REPO, "big", manifest, OCI_MANIFEST)
            print(f"layer: {len(blob) / 1e6:.0f} MB gzip, {args.files} files")
            del blob  # keep the measured children's reported memory their own
            url = f"{reg.url}/v2/{REPO}/blobs/{layer_digest}"
            sides = {
                "imgdigest files": [
                    sys.executable,
                    "-m",
                    "imgdigest",
                    "files",
                    f"{reg.host}/{REPO}:big",
                    "--layer",
                    "0",
                    "--no-cache",
                ],
                "curl | tar -tz": ["bash", "-c", f"curl -s {url} | tar -tz"],
            }
            results: dict[str, list[tuple[float, int, int]]] = {k: [] for k in sides}
            for _ in range(args.runs):
                for name, cmd in sides.items():
                    results[name].append(measure(cmd, env))
    base = statistics.median(r[0] for r in results["curl | tar -tz"])
    print(f"{'tool':<18} {'wall s':>7} {'vs curl|tar':>11} {'peak RSS MB':>12} {'lines':>7}")
    for name, runs in results.items():
        wall = statistics.median(r[0] for r in runs)
        rss = max(r[1] for r in runs) / 1024
        print(f"{name:<18} {wall:>7.2f} {wall / base:>10.2f}x {rss:>12.0f} {runs[0][2]:>7}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
