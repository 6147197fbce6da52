"""copy between registries and layouts: skip, mount, chunk, verify, resume."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from imgdigest import platform as platforms
from tests.harness import RegistryClient, build_image, push_index
from tests.registry.helpers import store_login

from .helpers import cli


def _report(out: bytes) -> dict:
    return json.loads(out)


def _uploads(registry) -> int:
    return registry.request_count("POST", r"/blobs/uploads/$")


@pytest.fixture
def source(registry_http, unique_repo, tmp_home):
    idx = push_index(registry_http, unique_repo, "v1", layers=2)
    return idx, f"{registry_http.host}/{unique_repo}"


def test_copy_within_a_registry_mounts_and_prints_the_source_digest(
    source, registry_http, capsysbinary
):
    idx, name = source
    dst = f"{name}-copy:v1"
    code, out, _ = cli(capsysbinary, "copy", f"{name}:v1", dst)
    assert code == 0
    assert out.decode().strip() == f"{dst}@{idx.digest}"
    code, out, _ = cli(capsysbinary, "copy", f"{name}:v1", f"{name}-json:v1", "--format", "json")
    report = _report(out)
    assert report["blobs_mounted"] == report["blobs"] == 15
    assert report["blobs_uploaded"] == report["bytes_uploaded"] == 0
    code, manifest, _ = cli(capsysbinary, "manifest", dst)
    assert manifest == idx.manifest_bytes


def test_second_copy_sends_nothing(source, registry_http, capsysbinary):
    _, name = source
    dst = f"{name}-again:v1"
    assert cli(capsysbinary, "copy", f"{name}:v1", dst)[0] == 0
    registry_http.reset_count()
    code, out, _ = cli(capsysbinary, "copy", f"{name}:v1", dst, "--format", "json")
    report = _report(out)
    assert code == 0
    assert report["blobs_skipped"] == report["blobs"]
    assert report["manifests_skipped"] == report["manifests"] - 1  # only the tag is re-put
    assert _uploads(registry_http) == 0
    assert (
        registry_http.request_count("PATCH") == registry_http.request_count("PUT", "/blobs/") == 0
    )


def test_copy_between_registries_with_auth_and_chunks(
    source, registry_token, capsysbinary, tmp_home
):
    idx, name = source
    store_login(registry_token, tmp_home)
    dst = f"{registry_token.host}/mirror/app:v1"
    argv = ("copy", f"{name}:v1", dst, "--ca-file", registry_token.ca_file, "--chunk-size", "128")
    code, out, err = cli(capsysbinary, *argv, "--format", "json")
    assert code == 0, err
    report = _report(out)
    assert report["reference"] == f"{dst}@{idx.digest}"
    assert report["blobs_uploaded"] == report["blobs"]
    assert report["bytes_uploaded"] == sum(
        len(b) for img in [*idx.children, *idx.attestations] for b in img.blobs.values()
    )
    assert registry_token.request_count("PATCH", r"/blobs/uploads/") > report["blobs"]
    with RegistryClient(registry_token) as c:
        assert c.get_manifest("mirror/app", "v1").content == idx.manifest_bytes
        amd64 = idx.child("linux", "amd64")
        assert c.get_blob("mirror/app", amd64.layer_digests[1]).content == amd64.layer_bytes[1]


def test_copy_one_platform(source, capsysbinary):
    idx, name = source
    arm = idx.child("linux", "arm", "v7")
    argv = ("copy", f"{name}:v1", f"{name}-arm:v1", "--platform", "linux/arm/v7")
    code, out, _ = cli(capsysbinary, *argv)
    assert (code, out.decode().strip()) == (0, f"{name}-arm:v1@{arm.digest}")
    code, out, _ = cli(capsysbinary, "manifest", f"{name}-arm:v1")
    assert out == arm.manifest_bytes


def test_layout_round_trip(source, capsysbinary, tmp_path, registry_http):
    idx, name = source
    layout = tmp_path / "layout"
    code, out, _ = cli(capsysbinary, "copy", f"{name}:v1", f"oci:{layout}:1.0")
    assert (code, out.decode().strip()) == (0, f"oci:{layout}:1.0@{idx.digest}")
    code, out, _ = cli(capsysbinary, "digest", f"oci:{layout}:1.0")
    assert out.decode().strip() == idx.digest
    code, out, _ = cli(capsysbinary, "copy", f"oci:{layout}:1.0", f"{name}-back:2.0")
    assert (code, out.decode().strip()) == (0, f"{name}-back:2.0@{idx.digest}")
    # A second copy into the layout keeps one entry per tag and writes nothing new.
    code, out, _ = cli(capsysbinary, "copy", f"{name}:v1", f"oci:{layout}:1.0", "--format", "json")
    assert _report(out)["bytes_uploaded"] == 0
    assert len(json.loads((layout / "index.json").read_text())["manifests"]) == 1


def test_interrupted_copy_resumes_without_resending(
    source, registry_http, fault_proxy, capsysbinary
):
    idx, name = source
    repo = name.split("/", 1)[1]
    proxy = fault_proxy(registry_http)
    # The first five mounts fail; the others complete, then the copy stops (exit 5).
    fault = proxy.status_then_ok(status=500, times=5, path=r"/blobs/uploads/", method="POST")
    dst = f"{proxy.host}/{repo}-resumed:v1"
    src = f"{proxy.host}/{repo}:v1"
    code, _, err = cli(capsysbinary, "copy", src, dst, "--retries", "0")
    assert code == 5, err
    proxy.remove(fault)
    target = f"{repo}-resumed"
    with RegistryClient(registry_http) as c:
        arrived = {
            d
            for img in [*idx.children, *idx.attestations]
            for d in img.blobs
            if c.request("HEAD", f"/v2/{target}/blobs/{d}", repo=target).status_code == 200
        }
        assert c.get_manifest(target, "v1").status_code == 404  # the tag never moved
    assert len(arrived) == 10
    proxy.reset_counts()
    code, out, _ = cli(capsysbinary, "copy", src, dst, "--format", "json")
    assert code == 0
    report = _report(out)
    assert report["reference"] == f"{dst}@{idx.digest}"
    assert report["blobs_skipped"] == len(arrived)
    assert report["blobs_mounted"] + report["blobs_uploaded"] == 15 - len(arrived)


def test_tampered_source_blob_stops_the_copy_before_the_tag(
    source, registry_http, fault_proxy, capsysbinary, tmp_path
):
    idx, name = source
    repo = name.split("/", 1)[1]
    proxy = fault_proxy(registry_http)
    amd64 = idx.child("linux", "amd64")
    proxy.tamper_body(path=amd64.layer_digests[0])
    layout = tmp_path / "layout"
    code, _, err = cli(capsysbinary, "copy", f"{proxy.host}/{repo}:v1", f"oci:{layout}")
    assert code == 6
    assert amd64.layer_digests[0] in err
    assert not (layout / "blobs/sha256" / amd64.layer_digests[0][7:]).exists()
    assert [p.name for p in (layout / "blobs/sha256").iterdir() if p.name.startswith(".")] == []
    assert json.loads((layout / "index.json").read_text())["manifests"] == []


def test_copy_into_a_docker_save_archive_and_back(source, registry_http, capsysbinary, tmp_path):
    idx, name = source
    (tmp_path / "out").mkdir()
    archive = tmp_path / "out" / "saved.tar"
    dst = f"docker-archive:{archive}:example.com/app:1"
    code, out, err = cli(capsysbinary, "copy", f"{name}:v1", dst)
    assert (code, out.decode().strip()) == (0, f"{dst}@{idx.digest}"), err
    assert [p.name for p in archive.parent.iterdir()] == ["saved.tar"]  # staging is gone
    with tarfile.open(archive) as tar:
        loaded = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        names = set(tar.getnames())
    host = platforms.default()
    image = idx.child(host.os, host.architecture, host.variant)
    assert loaded == [
        {
            "Config": f"blobs/sha256/{image.config_digest[7:]}",
            "RepoTags": ["example.com/app:1"],
            "Layers": [f"blobs/sha256/{d[7:]}" for d in image.layer_digests],
        }
    ]
    every = {d for c in [*idx.children, *idx.attestations] for d in [c.digest, *c.blobs]}
    assert {f"blobs/sha256/{d[7:]}" for d in every} | {"index.json", "oci-layout"} <= names
    for ref in (f"docker-archive:{archive}", f"docker-archive:{archive}:example.com/app:1"):
        code, out, _ = cli(capsysbinary, "digest", ref)
        assert (code, out.decode().strip()) == (0, idx.digest)
    code, out, _ = cli(capsysbinary, "copy", f"docker-archive:{archive}", f"{name}-loaded:v1")
    assert (code, out.decode().strip()) == (0, f"{name}-loaded:v1@{idx.digest}")


def test_copy_one_platform_into_a_docker_save_archive(source, capsysbinary, tmp_path):
    idx, name = source
    arm = idx.child("linux", "arm64", "v8")
    archive = tmp_path / "arm.tar"
    argv = ("copy", f"{name}:v1", f"docker-archive:{archive}", "--platform", "linux/arm64")
    code, out, _ = cli(capsysbinary, *argv)
    assert (code, out.decode().strip()) == (0, f"docker-archive:{archive}@{arm.digest}")
    code, out, _ = cli(capsysbinary, "config", f"docker-archive:{archive}")
    assert out == arm.config_bytes


def test_demo_layout_copies_to_a_registry(registry_http, unique_repo, tmp_home, capsysbinary):
    layout = Path(__file__).resolve().parents[2] / "demo" / "layout"
    code, want, _ = cli(capsysbinary, "digest", f"oci:{layout}:1.0")
    assert code == 0
    dst = f"{registry_http.host}/{unique_repo}:1.0"
    code, out, _ = cli(capsysbinary, "copy", f"oci:{layout}:1.0", dst, "--all-platforms")
    assert (code, out.decode().strip()) == (0, f"{dst}@{want.decode().strip()}")
    code, out, _ = cli(capsysbinary, "digest", dst, "--platform", "all")
    assert out.decode().count("linux/") == 3


def test_a_docker_save_archive_copies_with_the_digest_it_reports(
    registry_http, unique_repo, tmp_home, capsysbinary, tmp_path
):
    img = build_image(("linux", "amd64"), "docker", 2, "archive")
    path = tmp_path / "saved.tar"
    with tarfile.open(path, "w") as tar:
        names = {"cfg.json": img.config_bytes}
        names.update({f"l{i}/layer.tar": gzip.decompress(b) for i, b in enumerate(img.layer_bytes)})
        manifest = [{"Config": "cfg.json", "RepoTags": ["app:1"], "Layers": list(names)[1:]}]
        names["manifest.json"] = json.dumps(manifest).encode()
        for name, data in names.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    code, want, _ = cli(capsysbinary, "digest", f"docker-archive:{path}:app:1")
    assert code == 0
    dst = f"{registry_http.host}/{unique_repo}:1"
    code, out, err = cli(capsysbinary, "copy", f"docker-archive:{path}:app:1", dst)
    assert (code, out.decode().strip()) == (0, f"{dst}@{want.decode().strip()}"), err
    code, out, _ = cli(capsysbinary, "files", dst, "--layer", "1")
    assert sorted(line for line in out.decode().splitlines() if not line.endswith("/")) == sorted(
        img.layer_files[1]
    )


def test_a_copy_stopped_inside_a_blob_continues_where_the_registry_stopped(
    registry_http, unique_repo, tmp_home, fault_proxy, capsysbinary, tmp_path
):
    idx = push_index(registry_http, unique_repo, "v1", attestations=False)
    layout = tmp_path / "layout"
    assert (
        cli(capsysbinary, "copy", f"{registry_http.host}/{unique_repo}:v1", f"oci:{layout}")[0] == 0
    )
    proxy = fault_proxy(registry_http)
    dst = f"{proxy.host}/{unique_repo}-chunked:v1"
    # Every blob goes up in 100-byte chunks; the first upload to complete fails after all
    # its chunks arrived.
    fault = proxy.status_then_ok(status=500, times=1, path=r"/blobs/uploads/", method="PUT")
    argv = ("copy", f"oci:{layout}", dst, "--chunk-size", "100", "--retries", "0")
    code, _, err = cli(capsysbinary, *argv)
    assert code == 5, err
    proxy.remove(fault)
    proxy.reset_counts()
    code, out, _ = cli(capsysbinary, *argv, "--format", "json")
    report = json.loads(out)
    assert code == 0
    assert report["reference"] == f"{dst}@{idx.digest}"
    assert report["bytes_uploaded"] == 0 < report["bytes_resumed"]
    assert proxy.count("PATCH") == proxy.count("POST") == 0
    assert proxy.count("GET", r"/blobs/uploads/") == 1  # the upload's status: Range 0-LAST
    assert proxy.count("PUT", r"/blobs/uploads/") == 1


def test_an_upload_interrupted_mid_blob_sends_only_the_rest(registry_http, unique_repo, tmp_home):
    import asyncio
    import hashlib
    import os

    from imgdigest.registry.mirrors import Endpoint
    from imgdigest.registry.options import RegistryOptions
    from imgdigest.registry.transport import Transport
    from imgdigest.registry.upload import Pusher, UploadSessions

    data = os.urandom(10_000)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    sessions = UploadSessions(tmp_home / "uploads")

    async def chunks(stop_at: int | None = None):
        for i in range(0, len(data), 1000):
            if stop_at is not None and i >= stop_at:
                raise ConnectionError("source went away")
            yield data[i : i + 1000]

    async def run() -> tuple[int, int, int]:
        async with Transport(RegistryOptions(retries=0)) as t:
            ep = Endpoint(registry_http.host, unique_repo)
            first = Pusher(t, ep, chunk_size=2500, sessions=sessions)
            with pytest.raises(ConnectionError):
                await first.upload(digest, len(data), chunks(stop_at=6000))
            second = Pusher(t, ep, chunk_size=2500, sessions=sessions)
            await second.upload(digest, len(data), chunks())
            return first.stats.bytes_sent, second.stats.bytes_sent, second.stats.bytes_resumed

    sent_before, sent_after, resumed = asyncio.run(run())
    assert (sent_before, resumed, sent_after) == (5000, 5000, 5000)
    with RegistryClient(registry_http) as c:
        assert c.get_blob(unique_repo, digest).content == data


def test_mounting_on_a_token_registry_uses_one_token_for_both_repositories(
    registry_token, token_server, tmp_home, capsysbinary
):
    idx = push_index(registry_token, "team/src", "v1", attestations=False, seed="mount")
    store_login(registry_token, tmp_home)
    ca = ("--ca-file", registry_token.ca_file)
    before = len(token_server.requests)
    argv = ("copy", f"{registry_token.host}/team/src:v1", f"{registry_token.host}/team/dst:v1")
    code, out, err = cli(capsysbinary, *argv, *ca, "--format", "json")
    assert code == 0, err
    report = _report(out)
    assert report["blobs_mounted"] == report["blobs"] == 6
    assert report["bytes_uploaded"] == 0
    assert len(token_server.requests) - before == 1
    with RegistryClient(registry_token) as c:
        assert c.get_manifest("team/dst", "v1").content == idx.manifest_bytes
