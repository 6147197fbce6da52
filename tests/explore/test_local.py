"""Local images: OCI layout directories and docker save archives, no registry involved."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import pytest

from tests.harness import build_image, build_index
from tests.harness.images import DEFAULT_PLATFORMS, build_attestation, serialize

from .helpers import cli, tar_listing, write_layout

EMPTY = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"  # "{}"


def _index(seed: str = "local"):
    children = [build_image(p, "oci", 2, seed) for p in DEFAULT_PLATFORMS]
    return build_index(children, "oci", [build_attestation(c, seed) for c in children])


@pytest.fixture
def layout(tmp_path, tmp_home):
    idx = _index()
    solo = build_image(("linux", "amd64"), "docker", 1, "solo")
    root = write_layout(tmp_path / "layout", {"multi": idx, "solo": solo})
    return root, idx, solo


def test_digest_of_layout_tags(layout, capsysbinary):
    root, idx, solo = layout
    code, out, _ = cli(capsysbinary, "digest", f"oci:{root}:multi", f"oci:{root}:solo")
    assert code == 0
    assert out.decode().split() == [idx.digest, solo.digest]


def test_digest_of_a_platform_and_by_digest(layout, capsysbinary):
    root, idx, _ = layout
    argv = ("digest", f"oci:{root}:multi", "--platform", "linux/arm64", "--format", "json")
    code, out, _ = cli(capsysbinary, *argv)
    obj = json.loads(out)
    assert code == 0
    assert obj["digest"] == idx.child("linux", "arm64", "v8").digest
    assert obj["index_digest"] == idx.digest
    code, out, _ = cli(capsysbinary, "digest", f"oci:{root}@{idx.digest}")
    assert (code, out.decode().strip()) == (0, idx.digest)


def test_layout_with_several_images_needs_a_tag(layout, capsysbinary):
    root, _, _ = layout
    code, _, err = cli(capsysbinary, "manifest", f"oci:{root}")
    assert code == 2
    assert "holds 2 images" in err and "multi" in err and "solo" in err


def test_manifest_config_layers_files_of_a_layout(layout, capsysbinary):
    root, idx, solo = layout
    ref = f"oci:{root}:multi"
    child = idx.child("linux", "arm", "v7")
    code, out, _ = cli(capsysbinary, "manifest", ref)
    assert (code, out) == (0, idx.manifest_bytes)
    code, out, _ = cli(capsysbinary, "config", ref, "--platform", "linux/arm/v7")
    assert (code, out) == (0, child.config_bytes)
    code, out, _ = cli(
        capsysbinary, "layers", ref, "--platform", "linux/arm/v7", "--format", "json"
    )
    assert [r["diff_id"] for r in json.loads(out)["layers"]] == child.diff_ids
    argv = ("files", ref, "--platform", "linux/arm/v7", "--layer", child.layer_digests[1][7:20])
    code, out, _ = cli(capsysbinary, *argv)
    assert code == 0
    assert out.decode().splitlines() == tar_listing(child.layer_files[1], child.layer_bytes[1])
    code, out, _ = cli(capsysbinary, "manifest", f"oci:{root}:solo")
    assert out == solo.manifest_bytes


def test_ls_of_a_layout_lists_every_image_with_its_digest(layout, capsysbinary):
    root, idx, solo = layout
    code, out, _ = cli(capsysbinary, "ls", f"oci:{root}", "--format", "json")
    assert code == 0
    rows = json.loads(out)["images"]
    assert [(r["names"], r["digest"]) for r in rows] == [
        (["multi"], idx.digest),
        (["solo"], solo.digest),
    ]
    code, out, _ = cli(capsysbinary, "ls", f"oci:{root}")
    lines = out.decode().splitlines()
    assert lines[0].split() == ["NAME", "DIGEST", "KIND", "SIZE"]
    assert lines[1].split()[:3] == ["multi", idx.digest, "index"]


def test_tree_of_a_layout_shows_artifacts_and_unknown_types(tmp_path, tmp_home, capsysbinary):
    image = build_image(("linux", "amd64"), "oci", 1, "art")
    artifact = serialize(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/vnd.example.sbom+json",
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "digest": EMPTY,
                "size": 2,
            },
            "layers": [],
        }
    )
    root = write_layout(tmp_path / "l", {"img": image})
    (root / "blobs/sha256" / hashlib.sha256(artifact).hexdigest()).write_bytes(artifact)
    (
        root / "blobs/sha256/44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    ).write_bytes(b"{}")
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            image.descriptor(),
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "artifactType": "application/vnd.example.sbom+json",
                "digest": "sha256:" + hashlib.sha256(artifact).hexdigest(),
                "size": len(artifact),
            },
            {"mediaType": "application/x-unheard-of", "digest": "sha256:" + "1" * 64, "size": 9},
        ],
    }
    idx_bytes = serialize(index)
    (root / "blobs/sha256" / hashlib.sha256(idx_bytes).hexdigest()).write_bytes(idx_bytes)
    ref = f"oci:{root}@sha256:{hashlib.sha256(idx_bytes).hexdigest()}"
    code, out, err = cli(capsysbinary, "tree", ref)
    text = out.decode()
    assert code == 0, err
    assert "artifact application/vnd.example.sbom+json" in text
    assert "application/x-unheard-of" in text
    code, out, _ = cli(capsysbinary, "tree", ref, "--format", "json")
    kinds = [c["role"] for c in json.loads(out)["children"]]
    assert kinds == ["manifest", "manifest", "blob"]


@pytest.mark.parametrize(
    ("damage", "exit_code", "message"),
    [
        ("index_json", 2, "index.json:3: not valid JSON"),
        ("blob", 3, "is missing (blobs/sha256/"),
        ("no_index", 3, "not an OCI image layout (index.json is missing)"),
        ("no_dir", 3, "no such OCI layout directory"),
        ("schema1", 7, "schema 1"),
    ],
)
def test_broken_layouts_name_the_missing_piece(layout, capsysbinary, damage, exit_code, message):
    root, _, solo = layout
    ref = f"oci:{root}:solo"
    if damage == "index_json":
        (root / "index.json").write_text('{\n  "schemaVersion": 2,\n  "manifests": [,\n}\n')
    elif damage == "blob":
        (root / "blobs/sha256" / solo.config_digest.split(":")[1]).unlink()
        ref = f"oci:{root}:solo"
    elif damage == "no_index":
        (root / "index.json").unlink()
    elif damage == "no_dir":
        ref = f"oci:{root}-absent:solo"
    elif damage == "schema1":
        legacy = serialize({"schemaVersion": 1, "name": "x", "tag": "1", "fsLayers": []})
        (root / "blobs/sha256" / hashlib.sha256(legacy).hexdigest()).write_bytes(legacy)
        ref = f"oci:{root}@sha256:{hashlib.sha256(legacy).hexdigest()}"
    code, _, err = cli(capsysbinary, "config", ref)
    assert code == exit_code
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_corrupt_layout_blob_fails_verification(layout, capsysbinary):
    root, _, solo = layout
    path = root / "blobs/sha256" / solo.config_digest.split(":")[1]
    path.write_bytes(path.read_bytes().replace(b"amd64", b"arm64"))
    code, _, err = cli(capsysbinary, "config", f"oci:{root}:solo")
    assert code == 6
    assert solo.config_digest in err


# -- docker save archives ------------------------------------------------------------------
def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


@pytest.fixture
def legacy_archive(tmp_path):
    """A docker save archive in the pre-25 format: manifest.json, config, layer.tar dirs."""
    images = [build_image(("linux", "amd64"), "docker", 2, s) for s in ("one", "two")]
    path = tmp_path / "saved.tar"
    entries = []
    with tarfile.open(path, "w") as tar:
        for n, img in enumerate(images):
            config_name = f"{img.config_digest[7:]}.json"
            _add(tar, config_name, img.config_bytes)
            layers = []
            for i, blob in enumerate(img.layer_bytes):
                name = f"{n}{i}{'0' * 62}/layer.tar"
                _add(tar, name, gzip.decompress(blob))
                layers.append(name)
            entries.append({"Config": config_name, "RepoTags": [f"app/{n}:v1"], "Layers": layers})
        _add(tar, "manifest.json", json.dumps(entries).encode())
    return path, images


def test_legacy_archive_synthesizes_manifests_from_layer_tars(
    legacy_archive, tmp_home, capsysbinary
):
    path, images = legacy_archive
    ref = f"docker-archive:{path}:app/1:v1"
    code, out, _ = cli(capsysbinary, "layers", ref, "--format", "json")
    assert code == 0
    rows = json.loads(out)["layers"]
    # Layers are stored uncompressed, so each digest is the diff_id the config records.
    assert [r["digest"] for r in rows] == [r["diff_id"] for r in rows] == images[1].diff_ids
    code, out, _ = cli(capsysbinary, "config", f"docker-archive:{path}:@0")
    assert out == images[0].config_bytes
    code, out, _ = cli(capsysbinary, "files", ref, "--layer", "0")
    assert out.decode().splitlines() == tar_listing(
        images[1].layer_files[0], images[1].layer_bytes[0]
    )
    code, manifest, _ = cli(capsysbinary, "manifest", ref)
    code, digest, _ = cli(capsysbinary, "digest", ref)
    assert digest.decode().strip() == "sha256:" + hashlib.sha256(manifest).hexdigest()


def test_ls_of_an_archive_lists_repo_tags(legacy_archive, tmp_home, capsysbinary):
    path, _ = legacy_archive
    code, out, _ = cli(capsysbinary, "ls", f"docker-archive:{path}", "--format", "json")
    assert code == 0
    assert [r["names"] for r in json.loads(out)["images"]] == [["app/0:v1"], ["app/1:v1"]]


def test_new_archive_is_read_as_the_oci_layout_inside(tmp_path, tmp_home, capsysbinary):
    idx = _index("archive")
    root = write_layout(tmp_path / "inner", {"v2": idx})
    index = json.loads((root / "index.json").read_text())
    index["manifests"][0]["annotations"]["io.containerd.image.name"] = "docker.io/library/app:v2"
    (root / "index.json").write_text(json.dumps(index))
    path = tmp_path / "new.tar"
    with tarfile.open(path, "w") as tar:
        for f in sorted(p for p in root.rglob("*") if p.is_file()):
            _add(tar, str(f.relative_to(root)), f.read_bytes())
        _add(tar, "manifest.json", b"[]")
    for ref in (f"docker-archive:{path}", f"docker-archive:{path}:app:v2"):
        code, out, _ = cli(capsysbinary, "digest", ref)
        assert (code, out.decode().strip()) == (0, idx.digest)
    code, _, err = cli(capsysbinary, "digest", f"docker-archive:{path}:app:v3")
    assert code == 3 and "no image tagged 'app:v3'" in err


def test_not_an_archive(tmp_path, tmp_home, capsysbinary):
    bogus = tmp_path / "x.tar"
    bogus.write_bytes(b"not a tar at all" * 100)
    code, _, err = cli(capsysbinary, "digest", f"docker-archive:{bogus}")
    assert code == 2
    assert str(bogus) in err


def test_blob_from_a_layout_by_digest(layout, capsysbinary, tmp_path):
    root, idx, _ = layout
    child = idx.child("linux", "amd64")
    target = tmp_path / "out" / "layer.tgz"
    target.parent.mkdir()
    code, _, _ = cli(
        capsysbinary, "blob", f"oci:{root}@{child.layer_digests[0]}", "-o", str(target)
    )
    assert (code, target.read_bytes()) == (0, child.layer_bytes[0])
