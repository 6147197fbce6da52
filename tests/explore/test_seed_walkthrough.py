"""The seed's registry walkthrough, both sides: the raw HTTP recipe and the imgdigest command.

Each test is one step of docs/seed-walkthrough.md. The "raw" side speaks the registry
HTTP API through Python's HTTP client (httpx) and the standard library (json, hashlib,
tarfile), standing in for curl, jq, shasum and tar; the other side runs the command the
document names. Both must agree on a real registry.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from pathlib import Path

import httpx
import pytest

from imgdigest.cli.main import build_parser
from tests.harness import RegistryClient, push_built, push_index

from .helpers import cli, write_layout

ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
DOC = Path(__file__).resolve().parents[2] / "docs" / "seed-walkthrough.md"


@pytest.fixture(scope="module")
def pause(registry_http):
    """``pause:3.2`` as a Docker manifest list and ``pause-amd64:3.2`` as its amd64 child."""
    idx = push_index(
        registry_http,
        "google-containers/pause",
        "3.2",
        media="docker",
        attestations=False,
        seed="pause",
    )
    amd64 = idx.child("linux", "amd64")
    push_built(registry_http, "google-containers/pause-amd64", "3.2", amd64)
    return idx, amd64


@pytest.fixture
def curl(registry_http):
    with httpx.Client(base_url=registry_http.url, headers={"Accept": ACCEPT}) as client:
        yield client


@pytest.fixture
def reg(registry_http, tmp_home):
    return registry_http.host


def test_1_manifest_of_a_single_platform_image(pause, curl, reg, capsysbinary):
    raw = curl.get("/v2/google-containers/pause-amd64/manifests/3.2").content
    code, out, _ = cli(capsysbinary, "manifest", f"{reg}/google-containers/pause-amd64:3.2")
    assert code == 0 and out == raw


def test_2_a_tag_that_names_an_index(pause, curl, reg, capsysbinary):
    raw = curl.get("/v2/google-containers/pause/manifests/3.2").content
    assert json.loads(raw)["mediaType"].endswith("manifest.list.v2+json")
    code, out, _ = cli(capsysbinary, "manifest", f"{reg}/google-containers/pause:3.2")
    assert code == 0 and out == raw
    code, out, _ = cli(capsysbinary, "manifest", f"{reg}/google-containers/pause:3.2", "--pretty")
    assert json.loads(out) == json.loads(raw)


def test_3_and_11_the_amd64_linux_entry_of_the_index(pause, curl, reg, capsysbinary):
    index = curl.get("/v2/google-containers/pause/manifests/3.2").json()
    jq = [
        m["digest"]
        for m in index["manifests"]
        if m["platform"]["architecture"] == "amd64" and m["platform"]["os"] == "linux"
    ]
    argv = ("digest", f"{reg}/google-containers/pause:3.2", "--platform", "linux/amd64")
    code, out, _ = cli(capsysbinary, *argv)
    assert code == 0 and out.decode().split() == jq


def test_4_the_digest_is_the_sha256_of_the_bytes(pause, curl, reg, capsysbinary):
    raw = curl.get("/v2/google-containers/pause-amd64/manifests/3.2").content
    shasum = hashlib.sha256(raw).hexdigest()
    code, out, _ = cli(capsysbinary, "digest", f"{reg}/google-containers/pause-amd64:3.2")
    assert code == 0 and out.decode().strip() == f"sha256:{shasum}"
    code, out, _ = cli(capsysbinary, "manifest", f"{reg}/google-containers/pause-amd64:3.2")
    assert hashlib.sha256(out).hexdigest() == shasum


def test_5_fetch_by_digest(pause, curl, reg, capsysbinary):
    _, amd64 = pause
    raw = curl.get(f"/v2/google-containers/pause-amd64/manifests/{amd64.digest}").content
    ref = f"{reg}/google-containers/pause-amd64@{amd64.digest}"
    code, out, _ = cli(capsysbinary, "manifest", ref)
    assert code == 0 and out == raw


def test_6_the_digest_from_a_head(pause, curl, reg, capsysbinary):
    head = curl.head("/v2/google-containers/pause/manifests/3.2")
    code, out, _ = cli(capsysbinary, "digest", f"{reg}/google-containers/pause:3.2")
    assert code == 0 and out.decode().strip() == head.headers["Docker-Content-Digest"]


def test_7_the_config_object(pause, curl, reg, capsysbinary):
    manifest = curl.get("/v2/google-containers/pause-amd64/manifests/3.2").json()
    config_digest = manifest["config"]["digest"]
    jq = curl.get(f"/v2/google-containers/pause-amd64/blobs/{config_digest}").json()
    ref = f"{reg}/google-containers/pause-amd64:3.2"
    code, out, _ = cli(capsysbinary, "config", ref, "--pretty")
    config = json.loads(out)
    assert code == 0 and config == jq
    assert (config["architecture"], config["os"]) == ("amd64", "linux")
    assert config["rootfs"]["diff_ids"] == pause[1].diff_ids


def test_8_the_files_of_a_layer(pause, curl, reg, capsysbinary):
    manifest = curl.get("/v2/google-containers/pause-amd64/manifests/3.2").json()
    layer_digest = manifest["layers"][0]["digest"]
    blob = curl.get(f"/v2/google-containers/pause-amd64/blobs/{layer_digest}").content
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        tar_list = [m.name + ("/" if m.isdir() else "") for m in tar.getmembers()]
    ref = f"{reg}/google-containers/pause-amd64:3.2"
    code, out, _ = cli(capsysbinary, "files", ref, "--layer", "0")
    assert code == 0 and out.decode().splitlines() == tar_list


def test_9_the_tags_of_a_digest(pause, curl, reg, capsysbinary):
    idx, amd64 = pause
    # The registry sends no manifest map, so the raw side is a HEAD per tag.
    tags = curl.get("/v2/google-containers/pause-amd64/tags/list").json()["tags"]
    by_head = [
        t
        for t in tags
        if curl.head(f"/v2/google-containers/pause-amd64/manifests/{t}").headers[
            "Docker-Content-Digest"
        ]
        == amd64.digest
    ]
    name = f"{reg}/google-containers/pause-amd64"
    code, out, _ = cli(capsysbinary, "tags-of", f"{name}@{amd64.digest}")
    assert code == 0 and out.decode().split() == by_head == ["3.2"]
    code, out, _ = cli(capsysbinary, "ls", name)
    assert out.decode().split() == tags
    # imgdigest also finds the tag of the index that holds the digest.
    code, out, _ = cli(capsysbinary, "tags-of", f"{reg}/google-containers/pause@{amd64.digest}")
    assert out.decode().splitlines() == [f"3.2  (index {idx.digest} as linux/amd64)"]


def test_10_a_private_registry(registry_token, tmp_home, capsysbinary):
    from tests.registry.helpers import store_login

    idx = push_index(registry_token, "private/pause", "3.2", attestations=False, seed="private")
    with RegistryClient(registry_token) as bearer:  # asks the realm for a token, then GETs
        raw = bearer.get_manifest("private/pause", "3.2").content
    store_login(registry_token, tmp_home)
    ref = f"{registry_token.host}/private/pause:3.2"
    code, out, _ = cli(capsysbinary, "manifest", ref, "--ca-file", registry_token.ca_file)
    assert code == 0 and out == raw == idx.manifest_bytes


@pytest.fixture
def saved(pause, reg, tmp_path):
    """A ``docker save`` archive (Docker 25 format: an OCI layout inside) of pause-amd64:3.2."""
    _, amd64 = pause
    name = f"{reg}/google-containers/pause-amd64:3.2"
    root = write_layout(tmp_path / "inner", {"3.2": amd64})
    index = json.loads((root / "index.json").read_text())
    index["manifests"][0]["annotations"]["io.containerd.image.name"] = name
    (root / "index.json").write_text(json.dumps(index))
    path = tmp_path / "saved.tar"
    with tarfile.open(path, "w") as tar:
        for f in sorted(p for p in root.rglob("*") if p.is_file()):
            tar.add(f, arcname=str(f.relative_to(root)))
    return path, name, root


def test_12_the_digest_of_a_local_image(saved, pause, curl, capsysbinary):
    path, name, root = saved
    with tarfile.open(path) as tar:  # what `docker inspect … RepoDigests` reports
        index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
    repo_digest = next(
        m["digest"]
        for m in index["manifests"]
        if m["annotations"]["io.containerd.image.name"] == name
    )
    assert (
        repo_digest
        == curl.head("/v2/google-containers/pause-amd64/manifests/3.2").headers[
            "Docker-Content-Digest"
        ]
    )
    for ref in (f"docker-archive:{path}:{name}", f"oci:{root}:3.2"):
        code, out, _ = cli(capsysbinary, "digest", ref)
        assert code == 0 and out.decode().strip() == repo_digest


def test_13_images_with_digests(saved, pause, capsysbinary):
    path, name, _ = saved
    code, out, _ = cli(capsysbinary, "ls", f"docker-archive:{path}", "--format", "json")
    rows = json.loads(out)["images"]
    assert code == 0
    assert [(r["digest"], name in r["names"]) for r in rows] == [(pause[1].digest, True)]


def test_14_gcrane_digest(pause, reg, capsysbinary):
    idx, _ = pause
    code, out, _ = cli(capsysbinary, "digest", f"{reg}/google-containers/pause:3.2")
    assert code == 0 and out.decode().strip() == idx.digest


def test_every_command_in_the_walkthrough_exists():
    text = DOC.read_text()
    used = set(re.findall(r"`imgdigest ([a-z-]+)", text))
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert used and used <= set(sub.choices)  # type: ignore[attr-defined]
    for n in range(1, 15):
        assert f"\n| {n} |" in text
