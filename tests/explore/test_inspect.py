"""manifest, config, blob, tree, layers and files against a real registry."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.harness import push_image, push_index

from .helpers import cli, tar_listing


@pytest.fixture
def index(registry_http, unique_repo, tmp_home):
    idx = push_index(registry_http, unique_repo, "v1", layers=2)
    return idx, f"{registry_http.host}/{unique_repo}"


def test_manifest_is_byte_for_byte_what_was_pushed(index, capsysbinary):
    idx, name = index
    code, out, _ = cli(capsysbinary, "manifest", f"{name}:v1")
    assert code == 0
    assert out == idx.manifest_bytes
    assert "sha256:" + hashlib.sha256(out).hexdigest() == idx.digest


@pytest.mark.parametrize(
    ("platform", "arch"),
    [("linux/amd64", ("linux", "amd64", "")), ("linux/arm/v7", ("linux", "arm", "v7"))],
)
def test_manifest_of_a_platform_is_that_childs_bytes(index, capsysbinary, platform, arch):
    idx, name = index
    code, out, _ = cli(capsysbinary, "manifest", f"{name}:v1", "--platform", platform)
    assert code == 0
    assert out == idx.child(*arch).manifest_bytes


def test_manifest_by_digest_and_pretty(index, capsysbinary):
    idx, name = index
    code, out, _ = cli(capsysbinary, "manifest", f"{name}@{idx.digest}", "--pretty")
    assert code == 0
    assert json.loads(out) == json.loads(idx.manifest_bytes)
    assert out != idx.manifest_bytes


def test_config_is_the_platforms_config_blob(index, capsysbinary):
    idx, name = index
    child = idx.child("linux", "arm64", "v8")
    code, out, _ = cli(capsysbinary, "config", f"{name}:v1", "--platform", "linux/arm64")
    assert code == 0
    assert out == child.config_bytes


def test_config_of_an_index_defaults_to_host_platform_and_says_so(index, capsysbinary):
    _, name = index
    code, _, err = cli(capsysbinary, "config", f"{name}:v1")
    assert code == 0
    assert "is an index; showing linux/" in err


def test_blob_to_file_is_verified_and_complete(index, capsysbinary, tmp_path):
    idx, name = index
    child = idx.child("linux", "amd64")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "layer.tgz"
    code, _, _ = cli(capsysbinary, "blob", f"{name}@{child.layer_digests[1]}", "-o", str(target))
    assert code == 0
    assert target.read_bytes() == child.layer_bytes[1]
    assert [p.name for p in out_dir.iterdir()] == ["layer.tgz"]


def test_blob_to_stdout(index, capsysbinary):
    idx, name = index
    child = idx.child("linux", "amd64")
    code, out, _ = cli(capsysbinary, "blob", f"{name}@{child.config_digest}")
    assert (code, out) == (0, child.config_bytes)


@pytest.mark.parametrize(
    ("fault", "exit_code"),
    [
        ("tamper", 6),  # one byte changed
        ("truncate_honest", 6),  # short body with a matching Content-Length
        ("truncate", 5),  # connection closed before Content-Length bytes
    ],
)
def test_bad_blob_leaves_no_file_and_says_why(
    registry_http, unique_repo, tmp_home, fault_proxy, capsysbinary, tmp_path, fault, exit_code
):
    img = push_image(registry_http, unique_repo, "v1")
    proxy = fault_proxy(registry_http)
    blobs = r"/blobs/sha256:"
    if fault == "tamper":
        proxy.tamper_body(path=blobs)
    else:
        proxy.truncate(path=blobs, honest_length=fault == "truncate_honest")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    ref = f"{proxy.host}/{unique_repo}@{img.layer_digests[0]}"
    argv = ("blob", ref, "-o", str(out_dir / "out.tgz"), "--retries", "0")
    code, _, err = cli(capsysbinary, *argv)
    assert code == exit_code
    assert img.layer_digests[0] in err
    assert "Traceback" not in err
    assert list(out_dir.iterdir()) == []


def test_blob_needs_a_digest(index, capsysbinary):
    _, name = index
    code, _, err = cli(capsysbinary, "blob", f"{name}:v1")
    assert code == 2
    assert "named by digest" in err


def test_tree_json_mirrors_the_pushed_graph(index, capsysbinary):
    idx, name = index
    code, out, _ = cli(capsysbinary, "tree", f"{name}:v1", "--format", "json")
    assert code == 0
    tree = json.loads(out)
    assert (tree["role"], tree["digest"]) == ("index", idx.digest)
    children = tree["children"]
    images = [c for c in children if not c.get("attestation")]
    notes = [c for c in children if c.get("attestation")]
    assert [c["digest"] for c in images] == [c.digest for c in idx.children]
    assert [c["digest"] for c in notes] == [a.digest for a in idx.attestations]
    amd64 = images[0]
    assert amd64["platform"] == "linux/amd64"
    assert [c["digest"] for c in amd64["children"]] == [
        idx.children[0].config_digest,
        *idx.children[0].layer_digests,
    ]
    assert tree["total_size"] > idx.size


def test_tree_text_marks_attestations_and_totals(index, capsysbinary):
    idx, name = index
    code, out, _ = cli(capsysbinary, "tree", f"{name}:v1")
    text = out.decode()
    assert code == 0
    assert text.splitlines()[0].startswith(f"sha256:{idx.digest[7:19]}  index")
    assert text.count("attestation for") == len(idx.attestations)
    assert "├── linux/arm/v7" in text
    assert text.rstrip().endswith("in total")


def test_layers_rows_carry_digest_size_and_diff_id(index, capsysbinary):
    idx, name = index
    child = idx.child("linux", "arm", "v7")
    argv = ("layers", f"{name}:v1", "--platform", "linux/arm/v7", "--format", "json")
    code, out, _ = cli(capsysbinary, *argv)
    assert code == 0
    rows = json.loads(out)["layers"]
    assert [(r["index"], r["digest"], r["size"], r["diff_id"]) for r in rows] == [
        (i, d, len(b), diff)
        for i, (d, b, diff) in enumerate(
            zip(child.layer_digests, child.layer_bytes, child.diff_ids, strict=True)
        )
    ]


def test_files_of_one_layer_equal_tar_list(index, capsysbinary):
    idx, name = index
    child = idx.child("linux", "amd64")
    argv = ("files", f"{name}:v1", "--platform", "linux/amd64", "--layer", "1")
    code, out, _ = cli(capsysbinary, *argv)
    assert code == 0
    assert out.decode().splitlines() == tar_listing(child.layer_files[1], child.layer_bytes[1])


def test_files_of_all_layers_in_order_by_layer(index, capsysbinary):
    idx, name = index
    child = idx.child("linux", "amd64")
    code, out, _ = cli(capsysbinary, "files", f"{name}:v1", "--format", "json")
    assert code == 0
    rows = [json.loads(line) for line in out.decode().splitlines()]
    assert sorted({r["layer"] for r in rows}) == [0, 1]
    files = {r["path"] for r in rows if r["type"] == "file"}
    assert files == set(child.layer_files[0]) | set(child.layer_files[1])


@pytest.mark.parametrize(
    ("argv", "exit_code", "message"),
    [
        (("files", "{name}:v1", "--platform", "linux/amd64", "--layer", "7"), 3, "no layer 7"),
        (("manifest", "{name}:nope"), 3, "not found"),
        (("config", "{name}:v1", "--platform", "linux/s390x"), 3, "no manifest for platform"),
        (("layers", "{name}:v1", "--platform", "linux/"), 2, "linux/"),
    ],
)
def test_bad_input_gets_one_precise_line(index, capsysbinary, argv, exit_code, message):
    _, name = index
    code, _, err = cli(capsysbinary, *(a.format(name=name) for a in argv))
    assert code == exit_code
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_a_slow_reader_does_not_make_the_download_time_out(registry_http, unique_repo, tmp_home):
    """`imgdigest blob … | slow-consumer`: pauses longer than --timeout are not timeouts."""
    import os
    import time

    from imgdigest.registry.options import RegistryOptions
    from imgdigest.resolver import ResolveOptions, Resolver
    from imgdigest.sources import open_source
    from imgdigest.sources.base import prefetch_iter
    from tests.harness import RegistryClient
    from tests.harness.images import push_blob

    data = os.urandom(40_000_000)  # more than every buffer on the way
    with RegistryClient(registry_http) as c:
        digest = push_blob(c, unique_repo, data, chunk_size=16_000_000)
    options = ResolveOptions(registry=RegistryOptions(timeout=1.0, retries=0), cache=False)
    with Resolver(options) as r:
        source = open_source(f"{registry_http.host}/{unique_repo}@{digest}", r.inner)
        received = 0
        for i, chunk in enumerate(prefetch_iter(r.run, source.stream(digest))):
            if i == 1:
                time.sleep(2.5)
            received += len(chunk)
    assert received == len(data)
