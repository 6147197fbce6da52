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

import sys
from typing import Any

from benchmarks.bench_copy import benchmark, imgdigest_copy, skopeo_copy
from tests.harness import RegistryServer
from tests.harness.referrers import (
    build_attestation_artifact,
    build_cosign_signature,
    build_sbom,
    push_cosign,
    push_referrer,
)


def attach(src: RegistryServer, index: Any, children: list[Any]) -> str:
    push_referrer(src, "bench/app", build_sbom(index), index)
    for child in children:
        push_referrer(src, "bench/app", build_attestation_artifact(child), child)
    push_cosign(src, "bench/app", build_cosign_signature(index), index)
    return "5 referrers (SBOM, 3 attestations, cosign signature)"


def main(argv: list[str]) -> int:
    return benchmark(
        argv,
        lambda source: {
            "imgdigest copy": lambda host: imgdigest_copy(source, host),
            "imgdigest --no-referrers": lambda host: imgdigest_copy(source, host, "--no-referrers"),
            "skopeo copy --all": lambda host: skopeo_copy(source, host),
        },
        attach,
    )


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
