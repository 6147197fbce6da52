"""Running the command line in-process and building local images for the explore tests."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from imgdigest.cli.main import main
from tests.harness import PushedImage, PushedIndex


def cli(cap: pytest.CaptureFixture[bytes], *argv: str) -> tuple[int, bytes, str]:
    """``imgdigest ARGV`` with no manifest cache: exit code, stdout bytes, stderr text.

    A usage error (argparse, including a bad option value) exits as it would for a user.
    """
    try:
        code = main([*argv, "--no-cache"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = cap.readouterr()
    return code, out.out, out.err.decode()


def tar_listing(files: dict[str, bytes], layer_tgz: bytes) -> list[str]:
    """What ``tar --list`` prints for a harness layer (directories end in ``/``)."""
    import gzip

    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer_tgz))) as t:
        return [m.name + ("/" if m.isdir() else "") for m in t.getmembers()]


def write_layout(root: Path, images: dict[str, PushedImage | PushedIndex]) -> Path:
    """An OCI layout holding ``images`` (tag -> built image or index) and all their blobs."""
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')

    def put(digest: str, data: bytes) -> None:
        (root / "blobs" / "sha256" / digest.split(":", 1)[1]).write_bytes(data)

    def add(a: PushedImage | PushedIndex) -> None:
        put(a.digest, a.manifest_bytes)
        if isinstance(a, PushedImage):
            for d, data in a.blobs.items():
                put(d, data)
        else:
            for c in [*a.children, *a.attestations]:
                add(c)

    entries = []
    for tag, artifact in images.items():
        add(artifact)
        entries.append(
            {
                "mediaType": artifact.media_type,
                "digest": artifact.digest,
                "size": artifact.size,
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        )
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json"}
    index["manifests"] = entries  # type: ignore[assignment]
    (root / "index.json").write_text(json.dumps(index, indent=2))
    return root


def tag_on_disk(registry, repo: str, digest: str, tags: list[str]) -> None:
    """Tag an already pushed manifest many times by writing the registry's own tag links.

    Pushing 10,000 tags over HTTP takes a minute; the registry serves links written
    into its storage exactly as it serves those it wrote itself.
    """
    root = Path(registry.workdir) / "storage/docker/registry/v2/repositories" / repo
    algo, hexpart = digest.split(":", 1)
    for tag in tags:
        tag_dir = root / "_manifests/tags" / tag
        (tag_dir / "current").mkdir(parents=True)
        (tag_dir / "current/link").write_text(digest)
        (tag_dir / "index" / algo / hexpart).mkdir(parents=True)
        (tag_dir / "index" / algo / hexpart / "link").write_text(digest)
