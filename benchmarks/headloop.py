"""The floor: one keep-alive connection, a token fetched once, a HEAD per reference in a loop.

Run as its own process by bench_resolve so its time and peak RSS are measured alike.
Usage: python -m benchmarks.headloop REFS_FILE BASE_URL TOKEN CA_FILE
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


def main() -> int:
    refs_file, base, token, ca = sys.argv[1:5]
    refs = [line.split("/", 1)[1] for line in Path(refs_file).read_text().split()]
    headers = {"Accept": ACCEPT, "Authorization": f"Bearer {token}"}
    with httpx.Client(verify=ca if base.startswith("https") else False) as client:
        for ref in refs:
            repo, tag = ref.rsplit(":", 1)
            r = client.head(f"{base}/v2/{repo}/manifests/{tag}", headers=headers)
            if r.status_code != 200 or not r.headers.get("docker-content-digest"):
                print(f"HEAD {ref}: {r.status_code}", file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
