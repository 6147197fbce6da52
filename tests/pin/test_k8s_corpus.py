"""Real-world manifests pinned through a mirror: every listed image pinned, nothing else changed.

The corpus names images on Docker Hub, quay.io, registry.k8s.io, ghcr.io and others. A
registries.conf sends each of those registries to a mirror on the test registry (under a
path named for the registry, so names cannot collide), where every tag is seeded; the
files are then pinned exactly as a user behind a mirror would pin them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from imgdigest.documents import scan_text
from imgdigest.pin import PinOptions, plan_paths
from imgdigest.reference import normalize
from imgdigest.resolve import pin_text
from tests.harness import push_image
from tests.registry.helpers import options
from tests.shared import CONFORMANCE

from .helpers import DIGEST_RE, without_digests

CORPUS = json.loads((CONFORMANCE / "k8s-corpus" / "corpus-images.json").read_text())


@pytest.fixture(scope="module")
def seeded(registry_http, tmp_path_factory):
    """Push every tagged corpus image to the test registry; write the mirror config."""
    conf = tmp_path_factory.mktemp("conf") / "registries.conf"
    digests: dict[str, str] = {}
    hosts: set[str] = set()
    for entry in CORPUS["files"]:
        for image in entry["images"]:
            ref = normalize(image["image"])
            if ref.digest is not None or str(ref) in digests:
                continue
            hosts.add(ref.domain)
            pushed = push_image(registry_http, f"{ref.domain}/{ref.path}", ref.tag)
            digests[str(ref)] = pushed.digest
    conf.write_text(
        "".join(
            f'[[registry]]\nprefix = "{host}"\nlocation = "{host}"\n'
            f'[[registry.mirror]]\nlocation = "{registry_http.host}/{host}"\ninsecure = true\n'
            for host in sorted(hosts)
        )
    )
    return conf, digests


def test_every_corpus_image_is_pinned_and_nothing_else_changes(seeded, registry_http, tmp_home):
    conf, digests = seeded
    root = tmp_home / "corpus"
    for entry in CORPUS["files"]:
        target = root / entry["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CONFORMANCE / entry["file"], target)
    opts = options(registry_http, tmp_home, registries_conf=conf)
    plan = plan_paths([str(root / entry["file"]) for entry in CORPUS["files"]], PinOptions(), opts)
    assert [str(f) for f in plan.failures] == []
    assert [str(e) for e in plan.errors] == []

    pinned_count = 0
    for entry, fp in zip(CORPUS["files"], plan.files, strict=True):
        old = (CONFORMANCE / entry["file"]).read_text()
        new = fp.new_text
        assert new is not None
        # Only "@sha256:..." was added, and only once per unpinned image.
        assert without_digests(new) == without_digests(old), entry["file"]
        unpinned = [i for i in entry["images"] if normalize(i["image"]).digest is None]
        added = len(DIGEST_RE.findall(new)) - len(DIGEST_RE.findall(old))
        assert added == len(unpinned), entry["file"]
        # Each listed image now reads as its pinned form, where the corpus says it is.
        found = {(s.document, s.location): s.image for s in scan_text(new, entry["file"]).sites}
        for image in entry["images"]:
            ref = normalize(image["image"])
            want = image["image"] if ref.digest else pin_text(image["image"], digests[str(ref)])
            assert found[(image["document_index"], image["path"])] == want, image["path"]
            pinned_count += 0 if ref.digest else 1
    assert len(plan.changes) == pinned_count > 0
    assert CORPUS["total_images"] == sum(len(e["images"]) for e in CORPUS["files"])


def test_pinning_the_pinned_corpus_again_changes_nothing(seeded, registry_http, tmp_home):
    conf, _ = seeded
    root = tmp_home / "corpus"
    files = []
    for entry in CORPUS["files"]:
        target = root / entry["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CONFORMANCE / entry["file"], target)
        files.append(str(target))
    opts = options(registry_http, tmp_home, registries_conf=conf)
    first = plan_paths(files, PinOptions(), opts)
    assert first.failures == []
    first.write()
    snapshot = {f: Path(f).read_bytes() for f in files}
    second = plan_paths(files, PinOptions(), opts)
    assert second.changes == [] and second.failures == []
    assert {f: Path(f).read_bytes() for f in files} == snapshot
