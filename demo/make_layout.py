"""Write ``demo/layout``: a small OCI image layout with a three-platform index, tag ``1.0``.

The demo seeds its registry from this layout with ``imgdigest copy``, so it needs no
network and no Docker. Everything is deterministic (fixed timestamps, gzip without a
name or mtime, sorted tar members), so running the script again reproduces the same
digests and leaves the committed files unchanged::

    python demo/make_layout.py            # rewrites demo/layout
    imgdigest copy oci:demo/layout:1.0 127.0.0.1:5000/demo/hello:1.0 --all-platforms
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import sys
import tarfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent / "layout"
TAG = "1.0"
PLATFORMS = (("linux", "amd64", ""), ("linux", "arm64", "v8"), ("linux", "arm", "v7"))
CREATED = "2024-01-01T00:00:00Z"
EPOCH = 1_704_067_200

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def put(data: bytes) -> dict[str, Any]:
    """Store a blob; return the digest and size part of its descriptor."""
    d = digest_of(data)
    path = ROOT / "blobs" / "sha256" / d.split(":", 1)[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"digest": d, "size": len(data)}


def document(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2) + "\n").encode()


def layer(files: dict[str, bytes]) -> tuple[bytes, str]:
    """A gzip'd tar of ``files`` and its diff_id (digest of the uncompressed tar)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs = sorted({p.rsplit("/", 1)[0] for p in files if "/" in p})
        for name in dirs:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, EPOCH
            tar.addfile(info)
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, EPOCH
            tar.addfile(info, io.BytesIO(data))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, compresslevel=9, mtime=0), digest_of(tar_bytes)


def image(os_name: str, arch: str, variant: str) -> dict[str, Any]:
    """One platform's image; returns its index entry."""
    plat = "/".join(p for p in (os_name, arch, variant) if p)
    base, base_diff = layer({"etc/hello/motd": b"Hello from an imgdigest demo image.\n"})
    own, own_diff = layer({"etc/hello/platform": f"{plat}\n".encode()})
    config = {
        "created": CREATED,
        "architecture": arch,
        "os": os_name,
        **({"variant": variant} if variant else {}),
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Entrypoint": ["/bin/cat", "/etc/hello/motd"],
            "Labels": {"org.opencontainers.image.title": "imgdigest demo"},
        },
        "rootfs": {"type": "layers", "diff_ids": [base_diff, own_diff]},
        "history": [
            {"created": CREATED, "created_by": "COPY motd /etc/hello/motd"},
            {"created": CREATED, "created_by": f"COPY platform /etc/hello/platform # {plat}"},
        ],
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, **put(document(config))},
        "layers": [{"mediaType": OCI_LAYER, **put(base)}, {"mediaType": OCI_LAYER, **put(own)}],
    }
    platform = {"architecture": arch, "os": os_name, **({"variant": variant} if variant else {})}
    return {"mediaType": OCI_MANIFEST, **put(document(manifest)), "platform": platform}


def main() -> int:
    if ROOT.exists():
        shutil.rmtree(ROOT)
    ROOT.mkdir(parents=True)
    (ROOT / "oci-layout").write_bytes(b'{"imageLayoutVersion":"1.0.0"}')
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [image(*p) for p in PLATFORMS],
    }
    entry = {
        "mediaType": OCI_INDEX,
        **put(document(index)),
        "annotations": {"org.opencontainers.image.ref.name": TAG},
    }
    top = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]}
    (ROOT / "index.json").write_bytes(document(top))
    print(f"{ROOT} {TAG} {entry['digest']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
