"""Listed manifests pinned through a mirror: every listed image pinned, nothing else changed.

The project's own manifests, and the real-world corpus of the upstream tier when present,
name images on Docker Hub, quay.io, registry.k8s.io, ghcr.io and others. A
registries.conf sends each of those registries to a mirror on the test registry (under a
path named for the registry, so names cannot collide), where every tag is seeded; the
files are then pinned exactly as a user behind a mirror would pin them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from imgdigest.documents import scan_text
from imgdigest.pin import PinOptions, plan_paths
from imgdigest.reference import normalize, pin_text
from tests.harness import push_image
from tests.registry.helpers import options
from tests.shared import corpus_entries

from .helpers import DIGEST_RE, without_digests

ENTRIES = corpus_entries()


def mirror_path(host: str) -> str:
    """The mirror's path for a registry: its host, with a port's colon (not allowed) as '-'."""
    return host.replace(":", "-")


def corpus_copy(root: Path) -> list[Path]:
    """Copy every listed file below ``root`` (one folder per corpus); return the copies."""
    copies = []
    for index, (base, entry) in enumerate(ENTRIES):
        target = root / str(index) / entry["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(base / entry["file"], target)
        copies.append(target)
    return copies


@pytest.fixture(scope="module")
def seeded(registry_http, tmp_path_factory):
    """Push every tagged corpus image to the test registry; write the mirror config."""
    conf = tmp_path_factory.mktemp("conf") / "registries.conf"
    digests: dict[str, str] = {}
    hosts: set[str] = set()
    for _, entry in ENTRIES:
        for image in entry["images"]:
            ref = normalize(image["image"])
            if ref.digest is not None or str(ref) in digests:
                continue
            hosts.add(ref.domain)
            pushed = push_image(registry_http, f"{mirror_path(ref.domain)}/{ref.path}", ref.tag)
            digests[str(ref)] = pushed.digest
    conf.write_text(
        "".join(
            f'[[registry]]\nprefix = "{host}"\nlocation = "{host}"\n'
            f'[[registry.mirror]]\nlocation = "{registry_http.host}/{mirror_path(host)}"\n'
            'insecure = true\n'
            for host in sorted(hosts)
        )
    )
    return conf, digests


def test_every_corpus_image_is_pinned_and_nothing_else_changes(seeded, registry_http, tmp_home):
    conf, digests = seeded
    copies = corpus_copy(tmp_home / "corpus")
    opts = options(registry_http, tmp_home, registries_conf=conf)
    plan = plan_paths([str(c) for c in copies], PinOptions(), opts)
    assert [str(f) for f in plan.failures] == []
    assert [str(e) for e in plan.errors] == []

    pinned_count = 0
    for (base, entry), fp in zip(ENTRIES, plan.files, strict=True):
        old = (base / entry["file"]).read_text()
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
    assert pinned_count >= 11


def test_pinning_the_pinned_corpus_again_changes_nothing(seeded, registry_http, tmp_home):
    conf, _ = seeded
    files = [str(c) for c in corpus_copy(tmp_home / "corpus")]
    opts = options(registry_http, tmp_home, registries_conf=conf)
    first = plan_paths(files, PinOptions(), opts)
    assert first.failures == []
    first.write()
    snapshot = {f: Path(f).read_bytes() for f in files}
    second = plan_paths(files, PinOptions(), opts)
    assert second.changes == [] and second.failures == []
    assert {f: Path(f).read_bytes() for f in files} == snapshot
