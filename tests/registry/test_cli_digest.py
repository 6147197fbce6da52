"""The ``digest`` and ``ref`` commands as a user runs them: real processes, real registry."""

from __future__ import annotations

import json

import pytest

from tests.harness import push_image, push_index
from tests.registry.helpers import run_cli


@pytest.fixture
def multi(registry_http, unique_repo, tmp_home):
    idx = push_index(registry_http, unique_repo, "m")
    return idx, f"{registry_http.host}/{unique_repo}:m"


def test_prints_index_digest_and_says_what_it_is(multi):
    idx, ref = multi
    p = run_cli("digest", ref)
    assert p.returncode == 0, p.stderr
    assert p.stdout == idx.digest + "\n"
    assert "index digest" in p.stderr


def test_platform_digest_is_labelled(multi):
    idx, ref = multi
    p = run_cli("digest", "--platform", "linux/arm64", ref)
    assert p.stdout.strip() == idx.child("linux", "arm64", "v8").digest
    assert "platform manifest digest for linux/arm64" in p.stderr and idx.digest in p.stderr


def test_platform_all_lists_each_child(multi):
    idx, ref = multi
    p = run_cli("digest", "--platform", "all", ref)
    lines = p.stdout.splitlines()
    assert lines[0].startswith(idx.digest) and "index" in lines[0]
    for child in idx.children:
        assert any(child.digest in line for line in lines[1:])
    assert sum("(attestation)" in line for line in lines) == len(idx.attestations)


def test_full_ref_and_drop_tag(multi):
    idx, ref = multi
    assert run_cli("digest", "--full-ref", ref).stdout.strip() == f"{ref}@{idx.digest}"
    assert run_cli("digest", "--full-ref", "--drop-tag", ref).stdout.strip() == (
        f"{ref.rsplit(':', 1)[0]}@{idx.digest}"
    )


def test_json_output_has_parts_and_children(multi):
    idx, ref = multi
    obj = json.loads(run_cli("digest", "--format", "json", ref).stdout)
    assert obj["reference"] == ref and obj["digest"] == idx.digest and obj["tag"] == "m"
    assert obj["kind"] == "index" and obj["size"] == idx.size
    assert {c["digest"] for c in obj["children"]} >= {c.digest for c in idx.children}


def test_from_stdin_keeps_order_and_reports_failures(registry_http, unique_repo, tmp_home):
    a = push_image(registry_http, unique_repo, "a", seed="a")
    b = push_image(registry_http, unique_repo, "b", seed="b")
    base = f"{registry_http.host}/{unique_repo}"
    text = f"# comment\n{base}:b\n\n{base}:missing\n{base}:a\n"
    p = run_cli("digest", "--format", "json", "--from-file", "-", stdin=text)
    objs = [json.loads(line) for line in p.stdout.splitlines()]
    assert [o.get("digest") for o in objs] == [b.digest, None, a.digest]
    assert "not found" in objs[1]["error"]
    assert p.returncode == 3
    assert f"{base}:missing" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("docker.io/Library/ubuntu", "must be lowercase"),
        ("ubuntu@sha256:abc", "at least 32 characters"),
        ("ubuntu@sha256:" + "a" * 40, "invalid checksum digest length"),
        ("a" * 300, "repository name must not be more than 255 characters"),
        ("bad::ref", "invalid reference format"),
    ],
)
def test_invalid_reference_is_exit_2_with_reason(ref, reason):
    p = run_cli("digest", ref)
    assert p.returncode == 2
    assert reason in p.stderr and "Traceback" not in p.stderr


def test_explain_traces_requests_and_totals(multi):
    _idx, ref = multi
    p = run_cli("digest", "-v", "--platform", "linux/amd64", "--no-cache", ref)
    assert "HEAD" in p.stderr and "/manifests/m" in p.stderr
    assert "total:" in p.stderr and "requests" in p.stderr


def test_invalid_platform_is_usage_error():
    p = run_cli("digest", "--platform", "linux/*", "example.com/a:1")
    assert p.returncode == 2 and "Traceback" not in p.stderr


def test_ref_normalizes_offline():
    p = run_cli("ref", "ubuntu", "localhost:5000/x", "[::1]:5000/a/b:t")
    assert p.stdout.splitlines() == [
        "docker.io/library/ubuntu:latest",
        "localhost:5000/x:latest",
        "[::1]:5000/a/b:t",
    ]
    obj = json.loads(run_cli("ref", "--format", "json", "nginx:1.25").stdout)
    assert obj["api_host"] == "registry-1.docker.io" and obj["repository"] == "library/nginx"
    familiar = run_cli("ref", "--familiar", "docker.io/library/nginx:1.25").stdout
    assert familiar.strip() == "nginx:1.25"
