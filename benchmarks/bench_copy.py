"""``copy`` of a three-platform image between two local registries, against ``skopeo copy --all``.

The image is an index over linux/amd64, linux/arm64/v8 and linux/arm/v7, each with
three layers of random bytes (``--layer-mb`` each) and a BuildKit-style attestation.
Both tools copy it from registry A into a fresh registry B twice: into the empty
registry, then again into the same repository; the tools alternate run by run. (A
destination that already stores the blobs under another repository answers uploads far
faster, which is why every run gets its own.) Reported: wall time (median of the runs),
requests received by the destination (its access log), and how many of them carried
blob bytes; the second run should carry none.

Usage: python -m benchmarks.bench_copy [--layer-mb N] [--runs N]
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.harness import RegistryServer, build_image, build_index, push_built
from tests.harness.images import DEFAULT_PLATFORMS, build_attestation

_UPLOAD = re.compile(r"/blobs/uploads/")


def run(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed: {cmd[:5]}\n{proc.stderr[-2000:]}")
    return time.perf_counter() - started


def received(reg: RegistryServer) -> tuple[int, int]:
    """Requests at the destination, and how many of them carried blob bytes."""
    entries = reg.access_entries()
    sends = sum(1 for m, t, _ in entries if m in ("PUT", "PATCH") and _UPLOAD.search(t))
    return len(entries), sends


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def big_image(platform: tuple[str, str, str], layer_bytes: int, seed: str):
    """A harness image whose layers are replaced by random blobs of ``layer_bytes``."""
    layers, diff_ids = [], []
    for i in range(3):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as tar:
            info = tarfile.TarInfo(f"data/{seed}-{platform[1]}-{i}.bin")
            info.size = layer_bytes
            tar.addfile(info, io.BytesIO(os.urandom(layer_bytes)))
        layers.append(gzip.compress(raw.getvalue(), compresslevel=1))
        diff_ids.append(sha256(raw.getvalue()))
    base = build_image(platform, "oci", 3, seed)
    config = json.loads(base.config_bytes)
    config["rootfs"]["diff_ids"] = diff_ids
    config_bytes = (json.dumps(config, indent=2) + "\n").encode()
    manifest = json.loads(base.manifest_bytes)
    manifest["config"]["digest"] = sha256(config_bytes)
    manifest["config"]["size"] = len(config_bytes)
    manifest["layers"] = [
        {
            **manifest["layers"][0],
            "digest": "sha256:" + hashlib.sha256(b).hexdigest(),
            "size": len(b),
        }
        for b in layers
    ]
    manifest_bytes = (json.dumps(manifest, indent=2) + "\n").encode()
    return dataclasses.replace(
        base,
        digest=sha256(manifest_bytes),
        manifest_bytes=manifest_bytes,
        config_digest=manifest["config"]["digest"],
        config_bytes=config_bytes,
        layer_digests=[d["digest"] for d in manifest["layers"]],
        layer_bytes=layers,
        diff_ids=diff_ids,
    )


Row = tuple[str, float, tuple[int, int], float, tuple[int, int]]


def compare(
    tools: dict[str, Callable[[str], list[str]]], runs: int, tmp: Path, env: dict[str, str]
) -> list[Row]:
    """Each tool copies twice into a fresh, empty registry per run: wall times and what the
    registry received, medians over ``runs``. The tools alternate, so all meet the same
    machine load."""
    timings: dict[str, tuple[list[float], list[float], list[tuple[int, int]]]] = {
        name: ([], [], []) for name in tools
    }
    for n in range(runs):
        for i, (name, cmd) in enumerate(tools.items()):
            work = tmp / f"dst-{n}-{i}"
            work.mkdir()
            with RegistryServer("http", workdir=work) as dst:
                first, second, counts = timings[name]
                dst.reset_count()
                first.append(run(cmd(dst.host), env))
                counts.append(received(dst))
                dst.reset_count()
                second.append(run(cmd(dst.host), env))
                counts.append(received(dst))
    return [
        (name, statistics.median(f), c[0], statistics.median(s2), c[1])
        for name, (f, s2, c) in timings.items()
    ]


def print_rows(rows: list[Row], width: int) -> None:
    print(
        f"{'tool':<{width}} {'1st s':>6} {'reqs':>5} {'uploads':>7} "
        f"{'2nd s':>6} {'reqs':>5} {'uploads':>7}"
    )
    for name, w1, (r1, u1), w2, (r2, u2) in rows:
        print(f"{name:<{width}} {w1:>6.2f} {r1:>5} {u1:>7} {w2:>6.2f} {r2:>5} {u2:>7}")


Tools = dict[str, Callable[[str], list[str]]]
#: What a benchmark adds to the pushed index before copying it; returns words for the summary.
Attach = Callable[[RegistryServer, Any, list[Any]], str]


def benchmark(
    argv: list[str], tools_for: Callable[[str], Tools], attach: Attach | None = None
) -> int:
    """Push the three-platform index into a source registry (with what ``attach`` adds),
    then time the commands ``tools_for(source reference)`` gives, copying it, alternating."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--layer-mb", type=float, default=10.0)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    if not shutil.which("skopeo"):
        raise SystemExit("skopeo is missing: run `make bench`, which installs it")
    layer_bytes = int(args.layer_mb * 1_000_000)
    with tempfile.TemporaryDirectory(prefix="imgdigest-bench-") as tmp:
        env = {**os.environ, "HOME": tmp, "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
        (Path(tmp) / "a").mkdir()
        with RegistryServer("http", workdir=Path(tmp) / "a") as src:
            children = [big_image(p, layer_bytes, "copy") for p in DEFAULT_PLATFORMS]
            notes = [build_attestation(c, "copy") for c in children]
            index = push_built(src, "bench/app", "1.0", build_index(children, "oci", notes))
            extra = attach(src, index, children) if attach is not None else ""
            total = sum(len(b) for c in children for b in c.layer_bytes)
            del children, notes
            print(
                f"3 platforms x 3 layers, {total / 1e6:.0f} MB of layers; "
                f"{extra + '; ' if extra else ''}index {index.digest}"
            )
            tools = tools_for(f"{src.host}/bench/app:1.0")
            rows = compare(tools, args.runs, Path(tmp), env)
    print_rows(rows, max(len(name) for name in tools) + 2)
    return 0


def skopeo_copy(source: str, host: str) -> list[str]:
    return [
        "skopeo", "copy", "--all", "-q", "--src-tls-verify=false", "--dest-tls-verify=false",
        "--preserve-digests", f"docker://{source}", f"docker://{host}/bench/app:1.0",
    ]  # fmt: skip


def imgdigest_copy(source: str, host: str, *flags: str) -> list[str]:
    return [
        sys.executable, "-m", "imgdigest", "copy", "-q", "--no-cache", *flags,
        source, f"{host}/bench/app:1.0",
    ]  # fmt: skip


def main(argv: list[str]) -> int:
    return benchmark(
        argv,
        lambda source: {
            "imgdigest copy": lambda host: imgdigest_copy(source, host),
            "skopeo copy --all": lambda host: skopeo_copy(source, host),
        },
    )


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
