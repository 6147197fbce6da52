"""``check --verify --key`` over 500 signed references: what a signature costs per reference.

One manifest file holds 500 containers, each pinned to a distinct image that carries one
cosign signature (written by the test harness in cosign's format). Two runs of one
``imgdigest check`` process are compared side by side:

* ``check --verify``: resolution alone - each digest is asked of the registry (a HEAD);
* ``check --verify --key cosign.pub``: the same, then each digest's ``.sig`` manifest and
  its payload are fetched by digest, and the ECDSA P-256 signature is verified.

The difference divided by 500 is the per-reference cost of verification. Both run with
``--no-cache`` (every answer from the registry), directly and through a proxy adding
latency to every response, and each figure is the median of ``--runs`` runs. cosign itself
is not installable here (no Debian, PyPI or npm package ships it), so it is not a peer.

Usage: python -m benchmarks.bench_verify [--refs N] [--runs N] [--latency-ms MS]
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.harness import FaultProxy, RegistryServer, push_image, signing
from tests.harness.client import RegistryClient

REPO = "bench/signed"


def run(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed: {shlex.join(cmd[:8])}\n{proc.stderr[-2000:]}")
    return elapsed


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--refs", type=int, default=500)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--latency-ms", type=float, default=10.0)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="imgdigest-bench-") as tmp:
        env = {**os.environ, "HOME": tmp, "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
        (Path(tmp) / "registry").mkdir()
        key = signing.new_key("p256")
        pub = Path(tmp) / "cosign.pub"
        pub.write_bytes(signing.public_pem(key))
        with RegistryServer("http", workdir=Path(tmp) / "registry") as reg:
            started = time.perf_counter()
            digests = []
            with RegistryClient(reg) as client:
                for i in range(args.refs):
                    image = push_image(reg, REPO, None, seed=f"signed-{i}", client=client)
                    layer = signing.signature_layer(key, image.digest, f"{reg.host}/{REPO}")
                    signing.push_signatures(reg, REPO, image.digest, [layer])
                    digests.append(image.digest)
            print(f"{args.refs} signed images pushed in {time.perf_counter() - started:.1f}s")
            proxy = FaultProxy(reg).start()
            proxy.delay(args.latency_ms)
            rows = []
            try:
                for label, host in (("direct", reg.host), (f"+{args.latency_ms:g} ms", proxy.host)):
                    pods = Path(tmp) / f"pods-{len(rows)}.yaml"
                    pods.write_text(
                        "kind: Pod\nspec:\n  containers:\n"
                        + "".join(
                            f"  - name: c{i}\n    image: {host}/{REPO}@{d}\n"
                            for i, d in enumerate(digests)
                        )
                    )
                    base = [sys.executable, "-m", "imgdigest", "check", "-q", "--no-cache"]
                    base += ["--insecure", host, "--verify"]
                    plain = [run([*base, str(pods)], env) for _ in range(args.runs)]
                    signed = [
                        run([*base, "--key", str(pub), str(pods)], env) for _ in range(args.runs)
                    ]
                    rows.append((label, statistics.median(plain), statistics.median(signed)))
            finally:
                proxy.stop()
    print(f"medians of {args.runs} runs, {args.refs} references, one process each")
    print(f"{'path':<10} {'--verify s':>11} {'--verify --key s':>17} {'verify ms/ref':>14}")
    for label, plain, signed in rows:
        per_ref = (signed - plain) / args.refs * 1000
        print(f"{label:<10} {plain:>11.2f} {signed:>17.2f} {per_ref:>14.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
