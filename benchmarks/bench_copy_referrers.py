"""``copy`` of a signed three-platform index with its referrers, against ``skopeo copy --all``.

The image is ``bench_copy``'s: an index over linux/amd64, linux/arm64/v8 and
linux/arm/v7, three layers of random bytes each, with BuildKit-style attestations. It
carries what a supply chain attaches: an SPDX SBOM of the index and an in-toto
attestation of each platform manifest (OCI 1.1 artifacts with ``subject``, listed by the
referrers tag schema, since the distribution registry has no referrers API), and a
cosign signature of the index under ``sha256-HEX.sig``.

Each tool copies it into a fresh registry twice (the second copy finds everything
there); the tools alternate run by run. Rows: imgdigest copy (referrers included, the
default), imgdigest copy --no-referrers (what skopeo moves), and skopeo copy --all. Debian's
skopeo copies the index and its platform manifests only: no referrers, no cosign tag
(copying cosign's attachments needs ``use-sigstore-attachments`` in its registries.d
configuration, per registry). Reported: wall time (median of the runs), requests received
by the destination, and how many carried blob bytes, for the first and the second copy.

Usage: python -m benchmarks.bench_copy_referrers [--layer-mb N] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.bench_copy import big_image, compare, print_rows
from tests.harness import RegistryServer, build_index, push_built
from tests.harness.images import DEFAULT_PLATFORMS, build_attestation
from tests.harness.referrers import (
    build_attestation_artifact,
    build_cosign_signature,
    build_sbom,
    push_cosign,
    push_referrer,
)


def main(argv: list[str]) -> int:
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
            push_referrer(src, "bench/app", build_sbom(index), index)
            for child in children:
                push_referrer(src, "bench/app", build_attestation_artifact(child), child)
            push_cosign(src, "bench/app", build_cosign_signature(index), index)
            total = sum(len(b) for c in children for b in c.layer_bytes)
            del children, notes
            print(
                f"3 platforms x 3 layers, {total / 1e6:.0f} MB of layers; 5 referrers "
                f"(SBOM, 3 attestations, cosign signature); index {index.digest}"
            )
            source = f"{src.host}/bench/app:1.0"
            tools = {
                "imgdigest copy": lambda host: [
                    sys.executable, "-m", "imgdigest", "copy", "-q", "--no-cache",
                    source, f"{host}/bench/app:1.0",
                ],
                "imgdigest --no-referrers": lambda host: [
                    sys.executable, "-m", "imgdigest", "copy", "-q", "--no-cache",
                    "--no-referrers", source, f"{host}/bench/app:1.0",
                ],
                "skopeo copy --all": lambda host: [
                    "skopeo", "copy", "--all", "-q", "--src-tls-verify=false",
                    "--dest-tls-verify=false", "--preserve-digests",
                    f"docker://{source}", f"docker://{host}/bench/app:1.0",
                ],
            }  # fmt: skip
            rows = compare(tools, args.runs, Path(tmp), env)
    print_rows(rows, 26)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
